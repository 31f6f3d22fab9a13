#pragma once
// What every CUDA source of lamina shares: error checks that name the call or kernel, the stream work is queued
// on, the grid of a grid-stride loop, and a guard that selects a tensor's device. Included by .cu files only.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace lamina::cuda {

// Throws naming `what` (a runtime call or a kernel) and CUDA's own description.
inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess)
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
}

// The stream this thread queues work on (nullptr, the legacy default stream, unless set_current_stream said
// otherwise); the allocator keeps freed blocks per stream, so memory is reused in stream order.
cudaStream_t current_stream();

constexpr int kBlock = 256;

// Enough blocks to cover n with one element per thread, capped: a grid-stride loop covers the rest.
inline unsigned grid_for(std::int64_t n) {
  constexpr std::int64_t kMaxGrid = 65535;
  return static_cast<unsigned>(std::clamp<std::int64_t>((n + kBlock - 1) / kBlock, 1, kMaxGrid));
}

// The first index of this thread and the stride of a grid-stride loop over [0, n).
#define LAMINA_GRID_STRIDE_LOOP(i, n)                                                             \
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<std::int64_t>(blockDim.x) * gridDim.x)

// Runs `kernel` on the current stream with enough blocks for a grid-stride loop over n elements (or exactly
// `blocks` blocks when given), and checks the launch: a bad configuration is reported here, naming the kernel.
template <typename... Params, typename... Args>
void launch(const char* name, void (*kernel)(Params...), std::int64_t n, Args... args) {
  if (n == 0) return;
  kernel<<<grid_for(n), kBlock, 0, current_stream()>>>(args...);
  check(cudaGetLastError(), name);
}
template <typename... Params, typename... Args>
void launch_blocks(const char* name, void (*kernel)(Params...), std::int64_t blocks, Args... args) {
  if (blocks == 0) return;
  kernel<<<static_cast<unsigned>(blocks), kBlock, 0, current_stream()>>>(args...);
  check(cudaGetLastError(), name);
}

// Makes `device` current for its scope (kernels and allocations go to the current device).
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    check(cudaGetDevice(&previous_), "cudaGetDevice");
    if (device != previous_) check(cudaSetDevice(device), "cudaSetDevice");
  }
  ~DeviceGuard() { cudaSetDevice(previous_); }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace lamina::cuda
