// CUDA kernels of dropout, index_select (embedding's too) and gather. Dropout draws element i's number with
// Philox::draw(seed, first_counter, i) (core/random.h), the very stream the CPU kernel uses, so a seed gives the same
// mask on either device. index_select and gather run the index functions of core/indexing.h that the CPU loops run;
// their backwards add with atomics, since indices may repeat.
#include <lamina/core/cuda/kernels.h>
#include <lamina/core/cuda/launch.h>
#include <lamina/core/indexing.h>
#include <lamina/core/random.h>

namespace lamina::cuda {
namespace {

template <typename T>
__global__ void dropout_kernel(const T* x, T* y, std::int64_t n, std::uint64_t seed, std::uint64_t first_counter,
                               functors::Dropout mask) {
  LAMINA_GRID_STRIDE_LOOP(i, n) y[i] = mask(x[i], Philox::draw(seed, first_counter, static_cast<std::uint64_t>(i)));
}

template <typename T>
__global__ void index_select_kernel(const T* x, const std::int64_t* index, T* out, std::int64_t n_out, std::int64_t k,
                                    std::int64_t n, std::int64_t inner) {
  LAMINA_GRID_STRIDE_LOOP(e, n_out)
  out[e] = x[kernels::index_select_source_row(e / inner, index, k, n) * inner + e % inner];
}

// Two selections of the same row add into the same row of grad: atomically.
template <typename T>
__global__ void index_select_backward_kernel(const T* g, const std::int64_t* index, T* grad, std::int64_t n_out,
                                             std::int64_t k, std::int64_t n, std::int64_t inner) {
  LAMINA_GRID_STRIDE_LOOP(e, n_out)
  atomicAdd(grad + kernels::index_select_source_row(e / inner, index, k, n) * inner + e % inner, g[e]);
}

template <typename T>
__global__ void gather_kernel(const T* x, const std::int64_t* index, T* out, std::int64_t n, kernels::GatherGeometry geometry) {
  LAMINA_GRID_STRIDE_LOOP(p, n) out[p] = x[geometry.source(index, p)];
}

template <typename T>
__global__ void gather_backward_kernel(const T* g, const std::int64_t* index, T* grad, std::int64_t n,
                                       kernels::GatherGeometry geometry) {
  LAMINA_GRID_STRIDE_LOOP(p, n) atomicAdd(grad + geometry.source(index, p), g[p]);
}

void dropout(const Tensor& x, const Tensor& out, std::uint64_t seed, std::uint64_t first_counter, functors::Dropout mask) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  DeviceGuard guard(out.device().index);
  dispatch_floating(out.dtype(), "dropout", [&]<typename T>() {
    launch("dropout_kernel", dropout_kernel<T>, n, x.data<T>(), out.data<T>(), n, seed, first_counter, mask);
  });
}

void index_select(const Tensor& x, const Tensor& index, const Tensor& out, std::int64_t n, std::int64_t inner) {
  const std::int64_t n_out = out.numel(), k = index.numel();
  if (n_out == 0) return;
  DeviceGuard guard(out.device().index);
  dispatch(out.dtype(), [&]<typename T>() {
    launch("index_select_kernel", index_select_kernel<T>, n_out, x.data<T>(), index.data<std::int64_t>(), out.data<T>(),
           n_out, k, n, inner);
  });
}

void index_select_backward(const Tensor& g, const Tensor& index, const Tensor& grad, std::int64_t n, std::int64_t inner) {
  const std::int64_t n_out = g.numel(), k = index.numel();
  if (n_out == 0) return;
  DeviceGuard guard(grad.device().index);
  dispatch_floating(grad.dtype(), "index_select backward", [&]<typename T>() {
    launch("index_select_backward_kernel", index_select_backward_kernel<T>, n_out, g.data<T>(),
           index.data<std::int64_t>(), grad.data<T>(), n_out, k, n, inner);
  });
}

void gather(const Tensor& x, const Tensor& index, const Tensor& out, const kernels::GatherGeometry& geometry) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  DeviceGuard guard(out.device().index);
  dispatch(out.dtype(), [&]<typename T>() {
    launch("gather_kernel", gather_kernel<T>, n, x.data<T>(), index.data<std::int64_t>(), out.data<T>(), n, geometry);
  });
}

void gather_backward(const Tensor& g, const Tensor& index, const Tensor& grad, const kernels::GatherGeometry& geometry) {
  const std::int64_t n = g.numel();
  if (n == 0) return;
  DeviceGuard guard(grad.device().index);
  dispatch_floating(grad.dtype(), "gather backward", [&]<typename T>() {
    launch("gather_backward_kernel", gather_backward_kernel<T>, n, g.data<T>(), index.data<std::int64_t>(),
           grad.data<T>(), n, geometry);
  });
}

}  // namespace

void register_indexing_kernels(CudaKernels& k) {
  k.dropout = dropout;
  k.index_select = index_select;
  k.index_select_backward = index_select_backward;
  k.gather = gather;
  k.gather_backward = gather_backward;
}

}  // namespace lamina::cuda
