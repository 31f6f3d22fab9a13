// CUDA kernels for the elementwise ops, built from the same functors the CPU loops use (core/functors.h).
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include <lamina/core/broadcast.h>
#include <lamina/core/cuda/elementwise.h>
#include <lamina/core/functors.h>

namespace lamina::cuda {
namespace {

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

template <typename T, typename F>
__global__ void unary_kernel(const T* x, T* y, std::int64_t n, F f) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(blockDim.x) * gridDim.x)
    y[i] = f(x[i]);
}

template <typename T, typename F>
__global__ void binary_kernel(const T* a, const T* b, T* y, std::int64_t n, OffsetCalculator oa, OffsetCalculator ob, F f) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(blockDim.x) * gridDim.x)
    y[i] = f(a[oa(i)], b[ob(i)]);
}

int grid_for(std::int64_t n) {
  constexpr std::int64_t kBlock = 256, kMaxGrid = 65535;
  return static_cast<int>(std::min<std::int64_t>((n + kBlock - 1) / kBlock, kMaxGrid));
}

template <typename T, typename F>
void launch_unary(const T* x, T* y, std::int64_t n, F f) {
  if (n == 0) return;
  unary_kernel<<<grid_for(n), 256>>>(x, y, n, f);
  check(cudaGetLastError(), "unary kernel launch");
}

template <typename T, typename F>
void launch_binary(const T* a, const T* b, T* y, std::int64_t n, const OffsetCalculator& oa, const OffsetCalculator& ob, F f) {
  if (n == 0) return;
  binary_kernel<<<grid_for(n), 256>>>(a, b, y, n, oa, ob, f);
  check(cudaGetLastError(), "binary kernel launch");
}

}  // namespace

void relu(const float* x, float* y, std::int64_t n) { launch_unary(x, y, n, functors::Relu{}); }
void sigmoid(const float* x, float* y, std::int64_t n) { launch_unary(x, y, n, functors::Sigmoid{}); }
void tanh(const float* x, float* y, std::int64_t n) { launch_unary(x, y, n, functors::Tanh{}); }
void gelu(const float* x, float* y, std::int64_t n) { launch_unary(x, y, n, functors::Gelu{}); }
void exp(const float* x, float* y, std::int64_t n) { launch_unary(x, y, n, functors::Exp{}); }

void add(const float* a, const float* b, float* y, std::int64_t n, const OffsetCalculator& oa, const OffsetCalculator& ob) {
  launch_binary(a, b, y, n, oa, ob, functors::Add{});
}
void mul(const float* a, const float* b, float* y, std::int64_t n, const OffsetCalculator& oa, const OffsetCalculator& ob) {
  launch_binary(a, b, y, n, oa, ob, functors::Mul{});
}

}  // namespace lamina::cuda
