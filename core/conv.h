#pragma once
// 2-d convolution (cross-correlation, as in PyTorch) over NCHW tensors: im2col + GEMM, or direct kernels
// (direct_conv.h) for stride-1 layers with few channels, where the GEMM would be too small to run well.
#include <cstdint>
#include <string>

#include <lamina/core/tensor.h>

namespace lamina {

// A (height, width) pair that one integer also initializes: `.stride = 2` or `.padding = {1, 0}`.
struct IntPair {
  IntPair(std::int64_t both) : h(both), w(both) {}
  IntPair(std::int64_t h, std::int64_t w) : h(h), w(w) {}
  std::string str() const;  // "(h, w)"
  std::int64_t h, w;
};

struct Conv2dOptions {
  IntPair stride = 1;
  IntPair padding = 0;
  IntPair dilation = 1;
};

// x [N, C, H, W], weight [O, C, kh, kw], bias [O] or undefined -> [N, O, OH, OW] with
// OH = (H + 2*padding.h - dilation.h*(kh - 1) - 1) / stride.h + 1 (and the same for OW).
// Differentiable in all three.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, Conv2dOptions options = {});

}  // namespace lamina
