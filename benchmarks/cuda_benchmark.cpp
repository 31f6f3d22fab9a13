// The CUDA path's figures on a real GPU, each as a ratio to what the card can do, measured side by side:
//   - memory-bound ops (add, relu, sum, a broadcast add) in GB/s against a device-to-device cudaMemcpy of the same
//     bytes (the card's practical bandwidth);
//   - matmul (lamina's op: allocation, dispatch, cuBLAS) against cublasSgemm called directly on the same buffers,
//     in float32 and with TF32.
// Median of 7 repetitions. Without a usable device it says why and exits 0.
//   ./build/benchmarks/cuda_benchmark
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include <lamina/core/cuda/blas.h>
#include <lamina/core/cuda/cuda_allocator.h>
#include <lamina/lamina.h>

using namespace lamina;

namespace {

constexpr int kRepetitions = 7;

// Median seconds per call of `fn`, run `calls` times per repetition after a warm-up call.
double median_seconds(int calls, const std::function<void()>& fn) {
  fn();
  cuda::synchronize(0);
  std::vector<double> times;
  for (int r = 0; r < kRepetitions; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i) fn();
    cuda::synchronize(0);
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / calls);
  }
  std::sort(times.begin(), times.end());
  return times[kRepetitions / 2];
}

}  // namespace

int main() {
  std::string reason;
  if (cuda::device_count(&reason) == 0) {
    std::printf("cuda_benchmark: no usable CUDA device (%s); nothing measured\n", reason.c_str());
    return 0;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  std::printf("device 0: %s, %d SMs, %.1f GiB\n", prop.name, prop.multiProcessorCount,
              static_cast<double>(prop.totalGlobalMem) / (1 << 30));
  const Device gpu = Device::cuda(0);

  // --- memory-bound: 64M floats (256 MiB) per tensor ---
  const std::int64_t n = std::int64_t{1} << 26;
  const double bytes = static_cast<double>(n) * sizeof(float);
  const Tensor a = randn({n}).to(gpu), b = randn({n}).to(gpu), row = randn({4096}).to(gpu);
  Tensor copy_dst = Tensor::empty({n}, {.device = gpu});
  const double copy_s = median_seconds(10, [&] {
    cuda_backend(gpu).copy(copy_dst.raw_data(), gpu, a.raw_data(), gpu, static_cast<std::size_t>(bytes));
  });
  const double copy_bw = 2 * bytes / copy_s;
  std::printf("device-to-device memcpy: %.0f GB/s (the reference)\n", copy_bw / 1e9);
  struct Op { const char* name; double tensors_moved; std::function<void()> fn; };
  const Tensor a2 = a.view({n / 4096, 4096});
  const std::vector<Op> ops = {
      {"add", 3, [&] { add(a, b); }},
      {"relu", 2, [&] { relu(a); }},
      {"sum", 1, [&] { sum(a); }},
      {"add broadcast row", 2, [&] { add(a2, row); }},
  };
  for (const Op& op : ops) {
    const double bw = op.tensors_moved * bytes / median_seconds(10, op.fn);
    std::printf("%-18s %6.0f GB/s  %.2f of memcpy\n", op.name, bw / 1e9, bw / copy_bw);
  }

  // --- GEMM: 4096^3 ---
  const std::int64_t m = 4096;
  const Tensor x = randn({m, m}).to(gpu), w = randn({m, m}).to(gpu);
  Tensor c = Tensor::empty({m, m}, {.device = gpu});
  cublasHandle_t handle;
  if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) {
    std::printf("cublasCreate failed\n");
    return 1;
  }
  const double flops = 2.0 * m * m * m;
  for (const bool tf32 : {false, true}) {
    cuda::set_allow_tf32(tf32);
    cublasSetMathMode(handle, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
    const float one = 1, zero = 0;
    const double direct = median_seconds(5, [&] {
      cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, m, m, m, &one, w.data<float>(), m, x.data<float>(), m, &zero,
                  c.data<float>(), m);
    });
    const double ours = median_seconds(5, [&] { matmul(x, w); });
    std::printf("matmul %s: %.1f TFLOP/s, cublasSgemm directly %.1f TFLOP/s: %.2f of cuBLAS\n",
                tf32 ? "TF32   " : "float32", flops / ours / 1e12, flops / direct / 1e12, direct / ours);
  }
  cublasDestroy(handle);
  const AllocatorStats stats = cuda::memory_stats(0);
  std::printf("allocator: %.2f GiB reserved, peak %.2f GiB allocated, %llu cudaMalloc calls in all\n",
              static_cast<double>(stats.reserved) / (1 << 30), static_cast<double>(stats.peak_allocated) / (1 << 30),
              static_cast<unsigned long long>(stats.system_allocs));
  return 0;
}
