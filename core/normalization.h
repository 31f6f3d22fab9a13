#pragma once
// Batch and layer normalization. weight and bias are optional (pass an undefined Tensor for none).
#include <functional>

#include <lamina/core/tensor.h>

namespace lamina {

// Replaces a float64 tensor of per-channel partial sums by its total over all processes (an all-reduce).
// batch_norm calls it to compute batch statistics over the whole distributed batch (SyncBatchNorm); core itself
// knows nothing of processes.
using StatisticsReducer = std::function<void(Tensor& partial_sums)>;

// Normalizes each channel of x [N, C] or [N, C, *] (e.g. [N, C, H, W]) over every other dimension.
// training: uses the batch's mean and (biased) variance and, when the running buffers are given, updates them in
// place: running = (1 - momentum) * running + momentum * batch_stat, with the unbiased variance, as PyTorch does.
// Otherwise it uses running_mean and running_var (the batch's statistics when there are no running buffers).
// weight, bias, running_mean, running_var: [C]. Differentiable in x, weight and bias.
// With `reduce`, batch statistics (and the statistics of the backward pass) are those of all processes' batches.
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5,
                  const StatisticsReducer& reduce = {});

// Normalizes x over its trailing dimensions `normalized_shape`; weight and bias have that shape.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);

}  // namespace lamina
