#pragma once
// 2-d pooling over NCHW tensors, with PyTorch's output sizes (floor mode): OH = (H + 2*padding.h - kernel.h) /
// stride.h + 1. Padding may be at most half the kernel, so every window overlaps the input. All are differentiable.
#include <optional>

#include <lamina/core/conv.h>
#include <lamina/core/tensor.h>

namespace lamina {

// The maximum of each window (padding never wins); the gradient goes to the position of that maximum (the first
// one on ties, NaN counting as the largest).
Tensor max_pool2d(const Tensor& x, IntPair kernel, std::optional<IntPair> stride = std::nullopt, IntPair padding = 0);

// The mean of each window, padding counted as zeros in the divisor (PyTorch's count_include_pad=true).
Tensor avg_pool2d(const Tensor& x, IntPair kernel, std::optional<IntPair> stride = std::nullopt, IntPair padding = 0);

// The mean over the window [floor(i*H/OH), ceil((i+1)*H/OH)) for output row i (the same for columns), so that any
// input size maps to exactly output_size. Global average pooling is output_size {1, 1}.
Tensor adaptive_avg_pool2d(const Tensor& x, IntPair output_size);

}  // namespace lamina
