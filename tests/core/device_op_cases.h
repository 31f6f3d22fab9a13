#pragma once
// The op cases run on a device and compared with the CPU, forward and backward: on a GPU by tests/cuda, and on the
// CPU's stand-in CUDA device (host_device.h) by tests/core, which checks the ops' CUDA code paths.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <lamina/lamina.h>

#include "expect.h"

namespace lamina::testing {

// float32 tolerance by default: a GPU sums in another order and its exp/log differ from glibc's in the last bits.
inline void expect_close(const Tensor& device_result, const Tensor& cpu_result, const std::string& what,
                         double rtol = 1e-4, double atol = 1e-5) {
  ASSERT_TRUE(device_result.device().is_cuda()) << what;
  ASSERT_EQ(device_result.shape(), cpu_result.shape()) << what;
  ASSERT_EQ(device_result.dtype(), cpu_result.dtype()) << what;
  const std::vector<double> d = device_result.to_vector<double>(), c = cpu_result.to_vector<double>();
  for (std::size_t i = 0; i < d.size(); ++i)
    ASSERT_NEAR(d[i], c[i], atol + rtol * std::abs(c[i])) << what << ", element " << i << " of " << d.size();
}

// An int64 index tensor on `like`'s device.
inline Tensor indices(const std::vector<std::int64_t>& values, const Tensor& like) {
  return from_vector<std::int64_t>(values, {static_cast<std::int64_t>(values.size())}).to(like.device());
}

struct OpCase {
  const char* name;
  std::vector<Shape> inputs;  // float32 inputs drawn from randn, all requiring grad
  std::function<Tensor(const std::vector<Tensor>&)> fn;
  bool differentiable = true;
};

inline std::vector<OpCase> device_op_cases() {
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
      {"batch_norm training", {{8, 3, 5, 5}, {3}, {3}}, [](V x) {
         const TensorOptions on = {.device = x[0].device()};
         return batch_norm(x[0], x[1], x[2], zeros({3}, on), ones({3}, on), true);
       }},
      {"batch_norm eval", {{8, 3, 4}, {3}, {3}}, [](V x) {
         const TensorOptions on = {.device = x[0].device()};
         return batch_norm(x[0], x[1], x[2], full({3}, 0.5, on), full({3}, 2.0, on), false);
       }},
      {"layer_norm", {{6, 4, 10}, {4, 10}, {4, 10}}, [](V x) { return layer_norm(x[0], {4, 10}, x[1], x[2]); }},
      {"conv2d", {{3, 2, 9, 8}, {4, 2, 3, 2}, {4}},
       [](V x) { return conv2d(x[0], x[1], x[2], {.stride = {2, 1}, .padding = {1, 0}, .dilation = {1, 2}}); }},
      {"conv2d without bias", {{2, 3, 6, 6}, {5, 3, 3, 3}}, [](V x) { return conv2d(x[0], x[1], Tensor(), {.padding = 1}); }},
      {"max_pool2d", {{2, 3, 7, 6}}, [](V x) { return max_pool2d(x[0], 3, IntPair{2, 2}, 1); }},
      {"avg_pool2d", {{2, 3, 8, 8}}, [](V x) { return avg_pool2d(x[0], 2); }},
      {"avg_pool2d padded", {{1, 2, 5, 5}}, [](V x) { return avg_pool2d(x[0], 3, IntPair{2, 2}, 1); }},
      {"adaptive_avg_pool2d global", {{4, 6, 5, 5}}, [](V x) { return adaptive_avg_pool2d(x[0], 1); }},
      {"mse_loss", {{7, 3}, {7, 3}}, [](V x) { return mse_loss(x[0], x[1]); }},
      {"nll_loss", {{9, 5}}, [](V x) {
         return nll_loss(log_softmax(x[0], 1), from_vector<std::int64_t>({0, 4, 2, 2, 1, 3, 0, 4, 1}, {9}).to(x[0].device()),
                         Reduction::Sum);
       }},
      {"cat", {{2, 3, 4}, {2, 1, 4}, {2, 5, 4}}, [](V x) { return cat({x[0], x[1], x[2]}, 1); }},
      {"stack", {{3, 4}, {3, 4}}, [](V x) { return stack({x[0], x[1]}, 0); }},
      {"comparisons", {{100}, {100}}, [](V x) { return add(gt(x[0], x[1]), eq(x[0], x[0])); }, false},
      {"where broadcast", {{30, 4}, {30, 4}, {4}}, [](V x) { return where(gt(x[0], x[1]), mul(x[0], x[1]), x[2]); }},
      {"index_select rows, repeated", {{7, 5}}, [](V x) { return index_select(x[0], 0, indices({6, 0, 6, 2}, x[0])); }},
      {"index_select middle dim", {{3, 6, 4}}, [](V x) { return index_select(x[0], 1, indices({5, 1, 1}, x[0])); }},
      {"gather repeated", {{4, 6}}, [](V x) {
         return gather(x[0], 1, indices({0, 5, 5, 1, 1, 1, 2, 0, 4, 3, 3, 0}, x[0]).view({4, 3}));
       }},
      {"gather transposed", {{5, 3}}, [](V x) { return gather(x[0].t(), 0, indices({2, 0, 1, 1, 2, 2, 0, 0, 1, 2}, x[0]).view({2, 5})); }},
      {"one_hot", {{6, 5}}, [](V x) { return mul(x[0], one_hot(indices({4, 0, 2, 2, 1, 3}, x[0]), 5).to(x[0].dtype())); }},
      {"adaptive_avg_pool2d unequal windows", {{2, 3, 5, 7}}, [](V x) { return adaptive_avg_pool2d(x[0], {3, 4}); }},
      {"adaptive_avg_pool2d upsampling", {{1, 2, 3, 2}}, [](V x) { return adaptive_avg_pool2d(x[0], {5, 4}); }},
      {"batch_norm synchronized", {{6, 3, 4}, {3}, {3}}, [](V x) {
         // A reducer as if a second process held an identical batch (its sums are twice ours).
         return batch_norm(x[0], x[1], x[2], {}, {}, true, 0.1, 1e-5, [](Tensor& sums) { sums.mul_(2.0); });
       }},
  };
}

inline void run_case(const OpCase& c, Device device) {
  std::vector<Tensor> cpu_in, gpu_in;
  for (std::size_t i = 0; i < c.inputs.size(); ++i) {
    Tensor x = randn(c.inputs[i]);
    cpu_in.push_back(x.clone().requires_grad_(c.differentiable));
    gpu_in.push_back(x.to(device).requires_grad_(c.differentiable));
  }
  const Tensor cpu_out = c.fn(cpu_in), gpu_out = c.fn(gpu_in);
  expect_close(gpu_out, cpu_out, std::string(c.name) + ": forward");
  if (!c.differentiable) return;
  const Tensor g = randn(cpu_out.shape());
  cpu_out.backward(g);
  gpu_out.backward(g.to(device));
  for (std::size_t i = 0; i < cpu_in.size(); ++i)
    expect_close(gpu_in[i].grad(), cpu_in[i].grad(), std::string(c.name) + ": gradient of input " + std::to_string(i));
}

inline void check_cross_entropy(Device device) {
  const Tensor logits = randn({300, 10});
  std::vector<std::int64_t> label_values(300);
  for (std::size_t i = 0; i < label_values.size(); ++i) label_values[i] = static_cast<std::int64_t>(i * 7 % 10);
  const Tensor labels = from_vector(label_values, {300});
  for (const Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    Tensor xc = logits.clone().requires_grad_(), xg = logits.to(device).requires_grad_();
    const Tensor lc = cross_entropy(xc, labels, r), lg = cross_entropy(xg, labels.to(device), r);
    expect_close(lg, lc, "cross_entropy");
    const Tensor g = randn(lc.shape());
    lc.backward(g);
    lg.backward(g.to(device));
    expect_close(xg.grad(), xc.grad(), "cross_entropy gradient");
  }
}

inline void check_argmax_and_embedding(Device device) {
  const Tensor x = randn({50, 13});
  EXPECT_EQ(argmax(x.to(device), 1).to_vector<std::int64_t>(), argmax(x, 1).to_vector<std::int64_t>());
  const Tensor weight = randn({20, 8});
  const Tensor idx = from_vector<std::int64_t>({3, 3, 0, 19, 7, 3}, {2, 3});  // repeated rows: the atomic adds
  Tensor wc = weight.clone().requires_grad_(), wg = weight.to(device).requires_grad_();
  const Tensor yc = embedding(idx, wc), yg = embedding(idx.to(device), wg);
  expect_close(yg, yc, "embedding");
  const Tensor g = randn(yc.shape());
  yc.backward(g);
  yg.backward(g.to(device));
  expect_close(wg.grad(), wc.grad(), "embedding gradient");
}

inline void check_dropout_masks(Device device) {
  const Tensor x = randn({1001, 3});
  Generator cpu_gen(99), device_gen(99);
  cpu_gen.advance(6);
  device_gen.advance(6);
  const Tensor yc = dropout(x, 0.4, true, &cpu_gen), yg = dropout(x.to(device), 0.4, true, &device_gen);
  EXPECT_EQ(yg.to_vector<float>(), yc.to_vector<float>());
  EXPECT_EQ(device_gen.state(), cpu_gen.state());
}

inline void check_batch_norm_running_statistics(Device device) {
  const Tensor x = randn({16, 4, 3, 3});
  Tensor mean_cpu = zeros({4}), var_cpu = ones({4});
  Tensor mean_dev = zeros({4}, {.device = device}), var_dev = ones({4}, {.device = device});
  for (int step = 0; step < 3; ++step) {
    batch_norm(x, {}, {}, mean_cpu, var_cpu, true, 0.1);
    batch_norm(x.to(device), {}, {}, mean_dev, var_dev, true, 0.1);
  }
  expect_close(mean_dev, mean_cpu, "running mean");
  expect_close(var_dev, var_cpu, "running variance");
}

// SyncBatchNorm's statistics on the device: the reducer receives the float64 sums there (then all-reduces them over
// NCCL); with a reducer acting as a second process with an identical batch, the output, gradients and running
// statistics are those of batch_norm over the batch concatenated with itself.
inline void check_sync_batch_norm(Device device) {
  const Tensor x = randn({5, 3, 2, 2}), w = rand({3}), b = randn({3});
  std::vector<Device> seen;
  const StatisticsReducer twice = [&seen](Tensor& sums) {
    EXPECT_EQ(sums.dtype(), DType::Float64);
    seen.push_back(sums.device());
    sums.mul_(2.0);
  };
  Tensor xd = x.to(device).requires_grad_(), wd = w.to(device).requires_grad_(), bd = b.to(device).requires_grad_();
  Tensor mean_dev = zeros({3}, {.device = device}), var_dev = ones({3}, {.device = device});
  const Tensor synced = batch_norm(xd, wd, bd, mean_dev, var_dev, true, 0.1, 1e-5, twice);
  Tensor xc = x.clone().requires_grad_(), wc = w.clone().requires_grad_(), bc = b.clone().requires_grad_();
  Tensor mean_cpu = zeros({3}), var_cpu = ones({3});
  const Tensor doubled = batch_norm(cat({xc, xc}, 0), wc, bc, mean_cpu, var_cpu, true);
  expect_close(synced, doubled.slice(0, 0, 5).contiguous(), "synchronized batch_norm");
  expect_close(mean_dev, mean_cpu, "synchronized running mean");
  expect_close(var_dev, var_cpu, "synchronized running variance");
  // Sums, then squared deviations: two all-reduces forward; each has an all-reduce of its gradient backward.
  EXPECT_EQ(seen, std::vector<Device>(2, device));
  const Tensor g = randn({5, 3, 2, 2});
  synced.backward(g.to(device));
  // The other "process" back-propagates the same gradient through its copy.
  doubled.backward(cat({g, g}, 0));
  EXPECT_EQ(seen, std::vector<Device>(4, device));
  expect_close(xd.grad(), div(xc.grad(), 2.0), "synchronized batch_norm input gradient");
  expect_close(wd.grad(), div(wc.grad(), 2.0), "synchronized batch_norm weight gradient");
  expect_close(bd.grad(), div(bc.grad(), 2.0), "synchronized batch_norm bias gradient");
}

// Indices on the device are range-checked like the CPU's, naming the op, the index, and the input.
inline void check_index_errors(Device device) {
  const Tensor x = zeros({4, 3}, {.device = device});
  using lamina::testing::expect_contains, lamina::testing::message_of;
  expect_contains(message_of<std::out_of_range>([&] { index_select(x, 0, indices({0, 9}, x)); }),
                  {"index_select: index 9 is out of range for dimension 0 of size 4 (input float32 [4, 3] on cuda:0)"});
  expect_contains(message_of<std::out_of_range>([&] { gather(x, 1, indices({-1}, x).view({1, 1})); }),
                  {"gather: index -1 is out of range for dimension 1"});
  expect_contains(message_of<std::out_of_range>([&] { one_hot(indices({3, 5}, x), 5); }),
                  {"one_hot: label 5 is out of range for 5 classes"});
}

inline void check_copies_and_fills(Device device) {
  const Tensor x = randn({5, 6});
  const Tensor xd = x.to(device).to(DType::Float64);
  EXPECT_EQ(xd.dtype(), DType::Float64);
  EXPECT_EQ(xd.to_vector<double>(), x.to(DType::Float64).to_vector<double>());
  Tensor z = zeros({4, 4}, {.device = device});
  z.slice(1, 1, 3).fill_(2.5);
  Tensor expected = zeros({4, 4});
  expected.slice(1, 1, 3).fill_(2.5);
  EXPECT_EQ(z.to_vector<float>(), expected.to_vector<float>());
  Tensor host_into_device = zeros({5, 6}, {.device = device});
  host_into_device.copy_(x);  // across devices
  EXPECT_EQ(host_into_device.to_vector<float>(), x.to_vector<float>());
}

}  // namespace lamina::testing
