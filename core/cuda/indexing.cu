// CUDA kernels of dropout and embedding. Dropout draws element i's number with Philox::draw(seed, first_counter, i)
// (core/random.h), the very stream the CPU kernel uses, so a seed gives the same mask on either device.
#include <lamina/core/cuda/kernels.h>
#include <lamina/core/cuda/launch.h>
#include <lamina/core/random.h>

namespace lamina::cuda {
namespace {

template <typename T>
__global__ void dropout_kernel(const T* x, T* y, std::int64_t n, std::uint64_t seed, std::uint64_t first_counter,
                               functors::Dropout mask) {
  LAMINA_GRID_STRIDE_LOOP(i, n) y[i] = mask(x[i], Philox::draw(seed, first_counter, static_cast<std::uint64_t>(i)));
}

template <typename T>
__global__ void embedding_kernel(const T* weight, const std::int64_t* indices, T* out, std::int64_t n, std::int64_t width) {
  LAMINA_GRID_STRIDE_LOOP(k, n * width) out[k] = weight[indices[k / width] * width + k % width];
}

// Two samples with the same index add into the same row: atomically.
template <typename T>
__global__ void embedding_backward_kernel(const T* g, const std::int64_t* indices, T* grad_weight, std::int64_t n,
                                          std::int64_t width) {
  LAMINA_GRID_STRIDE_LOOP(k, n * width) atomicAdd(grad_weight + indices[k / width] * width + k % width, g[k]);
}

void dropout(const Tensor& x, const Tensor& out, std::uint64_t seed, std::uint64_t first_counter, functors::Dropout mask) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  DeviceGuard guard(out.device().index);
  dispatch_floating(out.dtype(), "dropout", [&]<typename T>() {
    launch("dropout_kernel", dropout_kernel<T>, n, x.data<T>(), out.data<T>(), n, seed, first_counter, mask);
  });
}

void embedding(const Tensor& weight, const Tensor& indices, const Tensor& out) {
  const std::int64_t n = indices.numel(), width = weight.shape()[1];
  if (n * width == 0) return;
  DeviceGuard guard(out.device().index);
  dispatch_floating(out.dtype(), "embedding", [&]<typename T>() {
    launch("embedding_kernel", embedding_kernel<T>, n * width, weight.data<T>(), indices.data<std::int64_t>(),
           out.data<T>(), n, width);
  });
}

void embedding_backward(const Tensor& g, const Tensor& indices, const Tensor& grad_weight) {
  const std::int64_t n = indices.numel(), width = grad_weight.shape()[1];
  if (n * width == 0) return;
  DeviceGuard guard(grad_weight.device().index);
  dispatch_floating(grad_weight.dtype(), "embedding_backward", [&]<typename T>() {
    launch("embedding_backward_kernel", embedding_backward_kernel<T>, n * width, g.data<T>(),
           indices.data<std::int64_t>(), grad_weight.data<T>(), n, width);
  });
}

}  // namespace

void register_indexing_kernels(CudaKernels& k) {
  k.dropout = dropout;
  k.embedding = embedding;
  k.embedding_backward = embedding_backward;
}

}  // namespace lamina::cuda
