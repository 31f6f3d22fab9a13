#pragma once
// Launchers for the CUDA elementwise kernels (device pointers in, device pointers out). Included only by CUDA
// code: no CUDA header is pulled in here, and CPU users never include this file.
#include <cstdint>

#include <lamina/core/broadcast.h>

namespace lamina::cuda {

void relu(const float* x, float* y, std::int64_t n);
void sigmoid(const float* x, float* y, std::int64_t n);
void tanh(const float* x, float* y, std::int64_t n);
void gelu(const float* x, float* y, std::int64_t n);
void exp(const float* x, float* y, std::int64_t n);
void add(const float* a, const float* b, float* y, std::int64_t n, const OffsetCalculator& oa, const OffsetCalculator& ob);
void mul(const float* a, const float* b, float* y, std::int64_t n, const OffsetCalculator& oa, const OffsetCalculator& ob);

}  // namespace lamina::cuda
