// CUDA kernels of the reductions: sum over the middle of [outer, reduce, inner], the maximum of rows and its
// index, and the maximum's backward. Float sums accumulate in double, as on the CPU.
#include <algorithm>
#include <type_traits>

#include <lamina/core/cuda/kernels.h>
#include <lamina/core/cuda/launch.h>

namespace lamina::cuda {
namespace {

template <typename T> using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;

// One thread per output: adjacent threads read adjacent columns when inner > 1.
template <typename T>
__global__ void sum_per_thread_kernel(const T* src, T* out, std::int64_t outer, std::int64_t reduce, std::int64_t inner) {
  LAMINA_GRID_STRIDE_LOOP(k, outer * inner) {
    const std::int64_t o = k / inner, i = k % inner;
    Acc<T> acc = 0;
    for (std::int64_t r = 0; r < reduce; ++r) acc += src[(o * reduce + r) * inner + i];
    out[k] = static_cast<T>(acc);
  }
}

// One block per (output, chunk of the reduced dimension), for long reductions into few outputs (a full sum, a
// loss): the block's threads stride over their chunk, then combine their partial sums in shared memory. Block k
// writes out[k]: with one chunk that is the output itself, with several a partial sum that a second pass adds up.
template <typename T, typename Out>
__global__ void sum_per_block_kernel(const T* src, Out* out, std::int64_t outer, std::int64_t reduce, std::int64_t inner,
                                     std::int64_t chunks) {
  __shared__ Acc<T> partial[kBlock];
  const std::int64_t chunk_length = (reduce + chunks - 1) / chunks;
  for (std::int64_t k = blockIdx.x; k < outer * inner * chunks; k += gridDim.x) {
    const std::int64_t output = k / chunks, chunk = k % chunks;
    const std::int64_t o = output / inner, i = output % inner;
    const std::int64_t end = min(reduce, (chunk + 1) * chunk_length);
    Acc<T> acc = 0;
    for (std::int64_t r = chunk * chunk_length + threadIdx.x; r < end; r += blockDim.x) acc += src[(o * reduce + r) * inner + i];
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (unsigned width = blockDim.x / 2; width > 0; width /= 2) {
      if (threadIdx.x < width) partial[threadIdx.x] += partial[threadIdx.x + width];
      __syncthreads();
    }
    if (threadIdx.x == 0) out[k] = static_cast<Out>(partial[0]);
    __syncthreads();  // partial[] is reused by the next block-sized piece of work
  }
}

// The first maximum of each row, as the CPU loop picks it.
template <typename T>
__global__ void max_kernel(const T* src, T* values, std::int64_t* indices, std::int64_t rows, std::int64_t n) {
  LAMINA_GRID_STRIDE_LOOP(o, rows) {
    const T* row = src + o * n;
    std::int64_t best = 0;
    for (std::int64_t r = 1; r < n; ++r)
      if (row[r] > row[best]) best = r;
    if (values) values[o] = row[best];
    if (indices) indices[o] = best;
  }
}

template <typename T>
__global__ void max_backward_kernel(const T* g, const std::int64_t* indices, T* grad, std::int64_t outer, std::int64_t n,
                                    std::int64_t inner) {
  LAMINA_GRID_STRIDE_LOOP(k, outer * inner) {
    const std::int64_t o = k / inner, i = k % inner;
    grad[(o * n + indices[k]) * inner + i] = g[k];
  }
}

void sum(const Tensor& src, const Tensor& out, std::int64_t outer, std::int64_t reduce, std::int64_t inner) {
  const std::int64_t outputs = outer * inner;
  if (outputs == 0) return;
  DeviceGuard guard(out.device().index);
  dispatch(out.dtype(), [&]<typename T>() {
    if (reduce >= 256 && outputs < 4096) {
      // Enough blocks to fill the device (about 1024), each summing at least 16 elements per thread.
      const std::int64_t chunks = std::clamp<std::int64_t>(reduce / (16 * kBlock), 1, std::max<std::int64_t>(1, 1024 / outputs));
      if (chunks == 1) {
        launch_blocks("sum_per_block_kernel", sum_per_block_kernel<T, T>, outputs, src.data<T>(), out.data<T>(), outer,
                      reduce, inner, std::int64_t{1});
        return;
      }
      const Tensor partial = Tensor::empty({outputs, chunks}, {.dtype = dtype_of<Acc<T>>(), .device = out.device()});
      launch_blocks("sum_per_block_kernel (partial sums)", sum_per_block_kernel<T, Acc<T>>, outputs * chunks,
                    src.data<T>(), partial.data<Acc<T>>(), outer, reduce, inner, chunks);
      launch_blocks("sum_per_block_kernel (of the partial sums)", sum_per_block_kernel<Acc<T>, T>, outputs,
                    partial.data<Acc<T>>(), out.data<T>(), outputs, chunks, std::int64_t{1}, std::int64_t{1});
    } else {
      launch("sum_per_thread_kernel", sum_per_thread_kernel<T>, outputs, src.data<T>(), out.data<T>(), outer, reduce,
             inner);
    }
  });
}

void max(const Tensor& src, const Tensor& values, const Tensor& indices, std::int64_t rows, std::int64_t n) {
  if (rows == 0) return;
  DeviceGuard guard(src.device().index);
  dispatch(src.dtype(), [&]<typename T>() {
    launch("max_kernel", max_kernel<T>, rows, src.data<T>(), values.defined() ? values.data<T>() : nullptr,
           indices.defined() ? indices.data<std::int64_t>() : nullptr, rows, n);
  });
}

void max_backward(const Tensor& g, const Tensor& indices, const Tensor& grad, std::int64_t outer, std::int64_t n,
                  std::int64_t inner) {
  if (outer * inner == 0) return;
  DeviceGuard guard(grad.device().index);
  dispatch(grad.dtype(), [&]<typename T>() {
    launch("max_backward_kernel", max_backward_kernel<T>, outer * inner, g.data<T>(), indices.data<std::int64_t>(),
           grad.data<T>(), outer, n, inner);
  });
}

}  // namespace

void register_reduction_kernels(CudaKernels& k) {
  k.sum = sum;
  k.max = max;
  k.max_backward = max_backward;
}

}  // namespace lamina::cuda
