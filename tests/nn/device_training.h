#pragma once
// A module trained on a device next to its CPU twin (same initial parameters, same batches): Module::to moves
// parameters, buffers and gradients; autograd and the optimizers run unchanged on the device's tensors. Used by
// tests/cuda on a GPU and by tests/nn on the CPU's stand-in CUDA device.
#include <lamina/lamina.h>
#include <lamina/nn/adam.h>
#include <lamina/nn/data_loader.h>
#include <lamina/nn/dataset.h>
#include <lamina/nn/lenet.h>
#include <lamina/nn/mlp.h>
#include <lamina/nn/resnet.h>
#include <lamina/nn/sampler.h>
#include <lamina/nn/sgd.h>
#include <lamina/nn/training.h>
#include <lamina/nn/transformer.h>

#include "core/device_op_cases.h"

namespace lamina::testing {

// `steps` steps of two copies of make_model() (in `dtype`) on batches of shape `input`, one on the CPU and one on
// `device`; the losses, and then the parameters and gradients, agree to `rtol`.
template <typename MakeModel, typename MakeOptimizer>
void train_both(Device device, MakeModel make_model, const Shape& input, MakeOptimizer make_optimizer, double rtol,
                int steps = 5, DType dtype = DType::Float32) {
  manual_seed(3);
  const std::shared_ptr<nn::Module> cpu_model = make_model(), dev_model = make_model();
  cpu_model->to(dtype);
  dev_model->to(dtype);
  const Tensor x = randn(input, {.dtype = dtype});
  std::vector<std::int64_t> label_values(input[0]);
  for (std::size_t i = 0; i < label_values.size(); ++i) label_values[i] = static_cast<std::int64_t>(i % 10);
  const Tensor y = from_vector(label_values, {input[0]});
  (*cpu_model)(x);  // materializes the deferred parameters
  (*dev_model)(x);
  dev_model->load_state_dict(cpu_model->state_dict());  // (batch norm's running statistics too)
  dev_model->to(device);
  for (const auto& [name, p] : dev_model->named_parameters()) ASSERT_EQ(p.device(), device) << name;

  auto cpu_opt = make_optimizer(cpu_model->named_parameters());
  auto dev_opt = make_optimizer(dev_model->named_parameters());
  const Tensor xd = x.to(device), yd = y.to(device);
  for (int step = 0; step < steps; ++step) {
    cpu_opt->zero_grad();
    dev_opt->zero_grad();
    const Tensor lc = cross_entropy((*cpu_model)(x), y), ld = cross_entropy((*dev_model)(xd), yd);
    expect_close(ld, lc, "loss at step " + std::to_string(step));
    lc.backward();
    ld.backward();
    cpu_opt->step();
    dev_opt->step();
  }
  const auto cpu_params = cpu_model->named_parameters();
  const auto dev_params = dev_model->named_parameters();
  for (std::size_t i = 0; i < cpu_params.size(); ++i) {
    expect_close(dev_params[i].second, cpu_params[i].second, "parameter " + cpu_params[i].first, rtol, 1e-6);
    expect_close(dev_params[i].second.grad(), cpu_params[i].second.grad(), "gradient of " + cpu_params[i].first, rtol, 1e-6);
  }
  // Back to the host, gradients included.
  dev_model->to(Device::cpu());
  for (const auto& [name, p] : dev_model->named_parameters()) {
    EXPECT_TRUE(p.device().is_cpu()) << name;
    EXPECT_TRUE(p.grad().device().is_cpu()) << name;
  }
}


inline std::shared_ptr<nn::Module> small_mlp() { return std::make_shared<nn::MLP>(nn::MLPOptions{.hidden = {64, 32}}); }

inline void check_deferred_parameters_materialize_on(Device device) {
  nn::MLP model(nn::MLPOptions{.hidden = {8}});
  model.to(device);
  const Tensor out = model(randn({4, 12}).to(device));
  EXPECT_EQ(out.device(), device);
  for (const auto& [name, p] : model.named_parameters()) EXPECT_EQ(p.device(), device) << name;
}

// The suite, for a fixture `Env` with static `device` and `training_rtol`: instantiated on a GPU by tests/cuda and
// on the stand-in CUDA device by tests/nn.
template <typename Env> class DeviceTraining : public Env {};
TYPED_TEST_SUITE_P(DeviceTraining);

TYPED_TEST_P(DeviceTraining, MlpWithSgdMomentumMatchesTheCpu) {
  train_both(TestFixture::device, small_mlp, {16, 20}, [](nn::NamedParameters p) {
    return std::make_unique<nn::SGD>(std::move(p), nn::SgdOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4});
  }, TestFixture::training_rtol);
}

TYPED_TEST_P(DeviceTraining, MlpWithAdamMatchesTheCpu) {
  train_both(TestFixture::device, small_mlp, {16, 20}, [](nn::NamedParameters p) {
    return std::make_unique<nn::Adam>(std::move(p), nn::AdamOptions{.lr = 1e-2});
  }, TestFixture::training_rtol);
}

TYPED_TEST_P(DeviceTraining, LeNetWithMaxPoolingMatchesTheCpu) {
  const auto lenet = [] {
    return std::make_shared<nn::LeNet>(nn::LeNetOptions{.activation = nn::Activation::ReLU, .pooling = nn::Pooling::Max});
  };
  train_both(TestFixture::device, lenet, {8, 1, 28, 28}, [](nn::NamedParameters p) {
    return std::make_unique<nn::SGD>(std::move(p), nn::SgdOptions{.lr = 0.05, .momentum = 0.9});
  }, TestFixture::training_rtol, 3);
}

TYPED_TEST_P(DeviceTraining, ResNetWithBatchNormMatchesTheCpu) {
  const auto resnet = [] { return std::make_shared<nn::ResNet18>(nn::ResNetOptions{.width = 4}); };
  // In float64: batch norm over a batch of 4 turns float32 rounding differences (the devices sum in other orders)
  // into gradient differences of 1e-4. SGD, not Adam: a gradient that is zero up to rounding (a bias before batch
  // norm) would become a full step of either sign under Adam's normalization.
  train_both(TestFixture::device, resnet, {4, 1, 16, 16}, [](nn::NamedParameters p) {
    return std::make_unique<nn::SGD>(std::move(p), nn::SgdOptions{.lr = 0.05, .momentum = 0.9});
  }, TestFixture::training_rtol, 2, DType::Float64);
}

// Attention, layer norm, GELU and dropout (the same masks for the same seed) in a transformer encoder.
TYPED_TEST_P(DeviceTraining, TransformerEncoderMatchesTheCpu) {
  manual_seed(6);
  const nn::TransformerOptions options{.d_model = 16, .heads = 4, .d_ff = 32, .dropout = 0.1};
  nn::TransformerEncoder cpu_encoder(2, options), dev_encoder(2, options);
  const Tensor x = randn({3, 5, 16}), g = randn({3, 5, 16});
  cpu_encoder(x);  // materializes any deferred parameters
  dev_encoder(x);
  dev_encoder.load_state_dict(cpu_encoder.state_dict());
  dev_encoder.to(TestFixture::device);
  manual_seed(11);
  const Tensor y_cpu = cpu_encoder(x);
  manual_seed(11);
  const Tensor y_dev = dev_encoder(x.to(TestFixture::device));
  expect_close(y_dev, y_cpu, "encoder output", TestFixture::training_rtol, 1e-5);
  y_cpu.backward(g);
  y_dev.backward(g.to(TestFixture::device));
  const auto cpu_params = cpu_encoder.named_parameters(), dev_params = dev_encoder.named_parameters();
  for (std::size_t i = 0; i < cpu_params.size(); ++i)
    expect_close(dev_params[i].second.grad(), cpu_params[i].second.grad(), "gradient of " + cpu_params[i].first,
                 TestFixture::training_rtol, 1e-5);
}

// train_epoch and evaluate copy the loader's host batches (pinned here) to the model's device.
TYPED_TEST_P(DeviceTraining, TrainEpochAndEvaluateBringTheBatchesToTheModel) {
  manual_seed(4);
  std::vector<std::int64_t> labels(64);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int64_t>(i % 10);
  const nn::TensorDataset data(randn({64, 20}), from_vector(labels, {64}));
  const std::shared_ptr<nn::Module> cpu_model = small_mlp(), dev_model = small_mlp();
  (*cpu_model)(randn({1, 20}));
  (*dev_model)(randn({1, 20}));
  dev_model->load_state_dict(cpu_model->state_dict());
  dev_model->to(TestFixture::device);
  nn::SGD cpu_opt(cpu_model->named_parameters(), {.lr = 0.1}), dev_opt(dev_model->named_parameters(), {.lr = 0.1});
  nn::SequentialSampler cpu_sampler(64), dev_sampler(64);
  nn::DataLoader cpu_loader(data, 16, cpu_sampler), dev_loader(data, 16, dev_sampler);
  dev_loader.set_pin_memory(true);
  const nn::EpochStats cpu_train = nn::train_epoch(*cpu_model, cpu_opt, cpu_loader);
  const nn::EpochStats dev_train = nn::train_epoch(*dev_model, dev_opt, dev_loader);
  EXPECT_NEAR(dev_train.loss_sum, cpu_train.loss_sum, 1e-4 * std::abs(cpu_train.loss_sum));
  EXPECT_EQ(dev_train.samples, 64);
  const nn::EpochStats cpu_eval = nn::evaluate(*cpu_model, cpu_loader), dev_eval = nn::evaluate(*dev_model, dev_loader);
  EXPECT_NEAR(dev_eval.loss_sum, cpu_eval.loss_sum, 1e-3 * std::abs(cpu_eval.loss_sum));
  EXPECT_EQ(dev_eval.correct, cpu_eval.correct);
}

TYPED_TEST_P(DeviceTraining, DeferredParametersMaterializeOnTheModulesDevice) {
  check_deferred_parameters_materialize_on(TestFixture::device);
}

REGISTER_TYPED_TEST_SUITE_P(DeviceTraining, MlpWithSgdMomentumMatchesTheCpu, MlpWithAdamMatchesTheCpu,
                            LeNetWithMaxPoolingMatchesTheCpu, ResNetWithBatchNormMatchesTheCpu,
                            TransformerEncoderMatchesTheCpu, TrainEpochAndEvaluateBringTheBatchesToTheModel,
                            DeferredParametersMaterializeOnTheModulesDevice);

}  // namespace lamina::testing
