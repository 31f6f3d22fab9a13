// A module moved to the GPU trains like its CPU twin: Module::to moves parameters, buffers and gradients, and
// autograd and the optimizers run unchanged on CUDA tensors.
#include <lamina/nn/adam.h>
#include <lamina/nn/mlp.h>
#include <lamina/nn/sgd.h>

#include "cuda_test.h"

using namespace lamina;
using lamina::testing::expect_close;

namespace {

class CudaTraining : public lamina::testing::CudaTest {};

template <typename MakeOptimizer>
void train_both(MakeOptimizer make_optimizer) {
  manual_seed(3);
  auto cpu_model = std::make_shared<nn::MLP>(nn::MLPOptions{.hidden = {64, 32}});
  auto gpu_model = std::make_shared<nn::MLP>(nn::MLPOptions{.hidden = {64, 32}});
  const Tensor x = randn({16, 20});
  std::vector<std::int64_t> label_values(16);
  for (std::size_t i = 0; i < label_values.size(); ++i) label_values[i] = static_cast<std::int64_t>(i % 10);
  const Tensor y = from_vector(label_values, {16});
  (*cpu_model)(x);  // materializes the deferred parameters
  (*gpu_model)(x);
  gpu_model->load_state_dict(cpu_model->state_dict());
  gpu_model->to(Device::cuda(0));
  for (const auto& [name, p] : gpu_model->named_parameters()) ASSERT_TRUE(p.device().is_cuda()) << name;

  auto cpu_opt = make_optimizer(cpu_model->named_parameters());
  auto gpu_opt = make_optimizer(gpu_model->named_parameters());
  const Tensor xg = x.to(Device::cuda(0)), yg = y.to(Device::cuda(0));
  for (int step = 0; step < 5; ++step) {
    cpu_model->zero_grad();
    gpu_model->zero_grad();
    const Tensor lc = cross_entropy((*cpu_model)(x), y), lg = cross_entropy((*gpu_model)(xg), yg);
    expect_close(lg, lc, "loss at step " + std::to_string(step));
    lc.backward();
    lg.backward();
    cpu_opt->step();
    gpu_opt->step();
  }
  const auto cpu_params = cpu_model->named_parameters();
  const auto gpu_params = gpu_model->named_parameters();
  for (std::size_t i = 0; i < cpu_params.size(); ++i) {
    expect_close(gpu_params[i].second, cpu_params[i].second, "parameter " + cpu_params[i].first, 1e-3, 1e-5);
    expect_close(gpu_params[i].second.grad(), cpu_params[i].second.grad(), "gradient of " + cpu_params[i].first, 1e-3, 1e-5);
  }
  // Back to the host, gradients included.
  gpu_model->to(Device::cpu());
  for (const auto& [name, p] : gpu_model->named_parameters()) {
    EXPECT_TRUE(p.device().is_cpu()) << name;
    EXPECT_TRUE(p.grad().device().is_cpu()) << name;
  }
}

}  // namespace

TEST_F(CudaTraining, SgdWithMomentumMatchesTheCpu) {
  train_both([](nn::NamedParameters p) {
    return std::make_unique<nn::SGD>(std::move(p), nn::SgdOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4});
  });
}

TEST_F(CudaTraining, AdamMatchesTheCpu) {
  train_both([](nn::NamedParameters p) { return std::make_unique<nn::Adam>(std::move(p), nn::AdamOptions{.lr = 1e-2}); });
}

TEST_F(CudaTraining, DeferredParametersMaterializeOnTheModulesDevice) {
  nn::MLP model(nn::MLPOptions{.hidden = {8}});
  model.to(Device::cuda(0));
  const Tensor out = model(randn({4, 12}).to(Device::cuda(0)));
  EXPECT_TRUE(out.device().is_cuda());
  for (const auto& [name, p] : model.named_parameters()) EXPECT_TRUE(p.device().is_cuda()) << name;
}
