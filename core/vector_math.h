#pragma once
// float32 kernels of the elementwise functions whose libm calls dominate a step (LeNet's sigmoids: 1.6 million
// per forward at batch 256), vectorized for the CPU's widest registers (simd.h). Internal to core: the ops in
// elementwise.cpp call them for contiguous float32 tensors, and use the functors of functors.h otherwise.
#include <cstdint>

namespace lamina::cpu {

// exp(x) within 2 ulp of the correctly rounded value (tested against double precision); 0 below -87.3 (where
// float's normal range ends), inf above 88.7, NaN for NaN.
void exp(const float* x, float* y, std::int64_t n);

// 1 / (1 + exp(-x)), through exp(-|x|) so that neither tail loses precision: within 3 ulp of the correctly
// rounded value; exactly 0 below -87.3.
void sigmoid(const float* x, float* y, std::int64_t n);

// g * y * (1 - y): sigmoid's input gradient from its output y.
void sigmoid_backward(const float* y, const float* g, float* grad_x, std::int64_t n);

}  // namespace lamina::cpu
