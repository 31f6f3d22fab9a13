// Every op with a CUDA kernel, forward and backward, against the CPU at float32 tolerance: the same inputs and
// upstream gradient on both devices.
#include <functional>

#include <lamina/core/cuda/blas.h>

#include "cuda_test.h"

using namespace lamina;
using lamina::testing::expect_close;

namespace {

struct OpCase {
  const char* name;
  std::vector<Shape> inputs;  // float32 inputs drawn from randn, all requiring grad
  std::function<Tensor(const std::vector<Tensor>&)> fn;
  bool differentiable = true;
};

std::vector<OpCase> cases() {
  using V = const std::vector<Tensor>&;
  return {
      {"add broadcast", {{64, 1, 5}, {7, 1}}, [](V x) { return add(x[0], x[1]); }},
      {"sub", {{300, 17}, {300, 17}}, [](V x) { return sub(x[0], x[1]); }},
      {"mul broadcast", {{8, 33}, {33}}, [](V x) { return mul(x[0], x[1]); }},
      {"div", {{40, 9}, {40, 9}}, [](V x) { return div(x[0], add(abs(x[1]), 0.5)); }},
      {"maximum", {{50, 3}, {50, 3}}, [](V x) { return maximum(x[0], x[1]); }},
      {"scalar ops", {{1000}}, [](V x) { return rdiv(rsub(mul(add(x[0], 2.0), 3.0), 20.0), 7.0); }},
      {"neg abs", {{129}}, [](V x) { return abs(neg(x[0])); }},
      {"exp log sqrt", {{77, 13}}, [](V x) { return sqrt(log(add(exp(x[0]), 1.0))); }},
      {"pow clamp", {{500}}, [](V x) { return clamp(pow(x[0], 3.0), -1.5, 2.0); }},
      {"activations", {{1000, 37}}, [](V x) { return add(add(relu(x[0]), sigmoid(x[0])), add(tanh(x[0]), gelu(x[0]))); }},
      {"transposed input", {{30, 20}}, [](V x) { return exp(x[0].t()); }},
      {"sum all", {{100000}}, [](V x) { return sum(x[0]); }},
      {"sum dims", {{6, 70, 5}}, [](V x) { return sum(x[0], {0, 2}); }},
      {"sum keepdim", {{300, 400}}, [](V x) { return sum(x[0], {1}, true); }},
      {"mean", {{64, 10}}, [](V x) { return mean(x[0], {0}); }},
      {"max dim", {{37, 11, 4}}, [](V x) { return max(x[0], 1); }},
      {"max all", {{999}}, [](V x) { return max(x[0]); }},
      {"softmax last", {{256, 10}}, [](V x) { return softmax(x[0], 1); }},
      {"softmax middle", {{4, 9, 6}}, [](V x) { return softmax(x[0], 1); }},
      {"log_softmax", {{128, 1000}}, [](V x) { return log_softmax(x[0], -1); }},
      {"matmul", {{65, 33}, {33, 17}}, [](V x) { return matmul(x[0], x[1]); }},
      {"matmul transposed", {{33, 65}, {17, 33}}, [](V x) { return matmul(x[0].t(), x[1].t()); }},
      {"matmul batched", {{3, 1, 8, 5}, {4, 5, 6}}, [](V x) { return matmul(x[0], x[1]); }},
      {"matmul vector", {{12, 7}, {7}}, [](V x) { return matmul(x[0], x[1]); }},
      {"linear", {{32, 784}, {128, 784}, {128}}, [](V x) { return linear(x[0], x[1], x[2]); }},
      {"linear_relu", {{32, 50}, {20, 50}, {20}}, [](V x) { return linear_relu(x[0], x[1], x[2]); }},
      {"reshape permute contiguous", {{2, 3, 4, 5}}, [](V x) { return mul(x[0].permute({3, 1, 0, 2}).contiguous(), 2.0).reshape({-1}); }},
      {"slice", {{10, 10}}, [](V x) { return x[0].slice(1, 2, 9, 3); }},
      {"comparisons", {{100}, {100}}, [](V x) { return add(gt(x[0], x[1]), eq(x[0], x[0])); }, false},
  };
}

void run_case(const OpCase& c) {
  std::vector<Tensor> cpu_in, gpu_in;
  for (std::size_t i = 0; i < c.inputs.size(); ++i) {
    Tensor x = randn(c.inputs[i]);
    cpu_in.push_back(x.clone().requires_grad_(c.differentiable));
    gpu_in.push_back(x.to(Device::cuda(0)).requires_grad_(c.differentiable));
  }
  const Tensor cpu_out = c.fn(cpu_in), gpu_out = c.fn(gpu_in);
  expect_close(gpu_out, cpu_out, std::string(c.name) + ": forward");
  if (!c.differentiable) return;
  const Tensor g = randn(cpu_out.shape());
  cpu_out.backward(g);
  gpu_out.backward(g.to(Device::cuda(0)));
  for (std::size_t i = 0; i < cpu_in.size(); ++i)
    expect_close(gpu_in[i].grad(), cpu_in[i].grad(), std::string(c.name) + ": gradient of input " + std::to_string(i));
}

class CudaOps : public lamina::testing::CudaTest {};

}  // namespace

TEST_F(CudaOps, EveryOpMatchesTheCpuForwardAndBackward) {
  manual_seed(7);
  for (const OpCase& c : cases()) {
    SCOPED_TRACE(c.name);
    run_case(c);
  }
}

TEST_F(CudaOps, CrossEntropyMatchesTheCpu) {
  const Tensor logits = randn({300, 10});
  std::vector<std::int64_t> label_values(300);
  for (std::size_t i = 0; i < label_values.size(); ++i) label_values[i] = static_cast<std::int64_t>(i * 7 % 10);
  const Tensor labels = from_vector(label_values, {300});
  for (const Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    Tensor xc = logits.clone().requires_grad_(), xg = logits.to(gpu).requires_grad_();
    const Tensor lc = cross_entropy(xc, labels, r), lg = cross_entropy(xg, labels.to(gpu), r);
    expect_close(lg, lc, "cross_entropy");
    const Tensor g = randn(lc.shape());
    lc.backward(g);
    lg.backward(g.to(gpu));
    expect_close(xg.grad(), xc.grad(), "cross_entropy gradient");
  }
}

TEST_F(CudaOps, ArgmaxAndEmbeddingMatchTheCpu) {
  const Tensor x = randn({50, 13});
  EXPECT_EQ(argmax(x.to(gpu), 1).to_vector<std::int64_t>(), argmax(x, 1).to_vector<std::int64_t>());
  const Tensor weight = randn({20, 8});
  const Tensor idx = from_vector<std::int64_t>({3, 3, 0, 19, 7, 3}, {2, 3});  // repeated rows: the atomic adds
  Tensor wc = weight.clone().requires_grad_(), wg = weight.to(gpu).requires_grad_();
  const Tensor yc = embedding(idx, wc), yg = embedding(idx.to(gpu), wg);
  expect_close(yg, yc, "embedding");
  const Tensor g = randn(yc.shape());
  yc.backward(g);
  yg.backward(g.to(gpu));
  expect_close(wg.grad(), wc.grad(), "embedding gradient");
}

TEST_F(CudaOps, DropoutMasksAreBitIdenticalToTheCpusForASeed) {
  const Tensor x = randn({1001, 3});
  Generator cpu_gen(99), gpu_gen(99);
  cpu_gen.advance(6);
  gpu_gen.advance(6);
  const Tensor yc = dropout(x, 0.4, true, &cpu_gen), yg = dropout(x.to(gpu), 0.4, true, &gpu_gen);
  EXPECT_EQ(yg.to_vector<float>(), yc.to_vector<float>());
  EXPECT_EQ(gpu_gen.state(), cpu_gen.state());
}

TEST_F(CudaOps, CopiesConvertDtypesAndFillsWriteStridedViews) {
  const Tensor x = randn({5, 6});
  const Tensor xd = x.to(gpu).to(DType::Float64);
  EXPECT_EQ(xd.dtype(), DType::Float64);
  EXPECT_EQ(xd.to_vector<double>(), x.to(DType::Float64).to_vector<double>());
  Tensor z = zeros({4, 4}, {.device = gpu});
  z.slice(1, 1, 3).fill_(2.5);
  Tensor expected = zeros({4, 4});
  expected.slice(1, 1, 3).fill_(2.5);
  EXPECT_EQ(z.to_vector<float>(), expected.to_vector<float>());
  Tensor host_into_gpu = zeros({5, 6}, {.device = gpu});
  host_into_gpu.copy_(x);  // across devices
  EXPECT_EQ(host_into_gpu.to_vector<float>(), x.to_vector<float>());
}

TEST_F(CudaOps, GemmWithTf32StaysNearFloat32) {
  const Tensor a = randn({256, 512}), b = randn({512, 128});
  const Tensor exact = matmul(a, b);
  cuda::set_allow_tf32(true);
  const Tensor tf32 = matmul(a.to(gpu), b.to(gpu));
  cuda::set_allow_tf32(false);
  // TF32 keeps 10 mantissa bits in the products: relative errors near 1e-3 over a 512-term sum.
  expect_close(tf32, exact, "tf32 matmul", 1e-2, 5e-2);
  expect_close(matmul(a.to(gpu), b.to(gpu)), exact, "float32 matmul");
}

TEST_F(CudaOps, AnOpWithoutACudaKernelNamesTheOpAndDevice) {
  const Tensor images = randn({1, 1, 8, 8}).to(gpu);
  try {
    max_pool2d(images, 2);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA kernel for cuda:0"), std::string::npos) << e.what();
  }
}
