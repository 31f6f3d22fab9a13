// CUDA kernels of adaptive average pooling: one thread per output element for the forward, one per input element
// for the backward (the outputs whose windows hold it, a gather: no atomics), each running the index function of
// core/indexing.h that the CPU path runs too. Fixed-size pooling needs no kernel of its own (unfold and a max or mean).
#include <lamina/core/cuda/kernels.h>
#include <lamina/core/cuda/launch.h>
#include <lamina/core/indexing.h>

namespace lamina::cuda {
namespace {

template <typename T>
__global__ void adaptive_avg_pool_kernel(kernels::AdaptivePoolGeometry g, const T* x, T* out, std::int64_t n) {
  LAMINA_GRID_STRIDE_LOOP(k, n) out[k] = kernels::adaptive_avg_pool_element(g, x, k);
}

template <typename T>
__global__ void adaptive_avg_pool_backward_kernel(kernels::AdaptivePoolGeometry g, const T* grad_out, T* grad, std::int64_t n) {
  LAMINA_GRID_STRIDE_LOOP(k, n) grad[k] = kernels::adaptive_avg_pool_backward_element(g, grad_out, k);
}

void adaptive_avg_pool2d(const Tensor& x, const Tensor& out, const kernels::AdaptivePoolGeometry& g) {
  DeviceGuard guard(out.device().index);
  dispatch_floating(out.dtype(), "adaptive_avg_pool2d", [&]<typename T>() {
    launch("adaptive_avg_pool_kernel", adaptive_avg_pool_kernel<T>, out.numel(), g, x.data<T>(), out.data<T>(), out.numel());
  });
}

void adaptive_avg_pool2d_backward(const Tensor& grad_out, const Tensor& grad, const kernels::AdaptivePoolGeometry& g) {
  DeviceGuard guard(grad.device().index);
  dispatch_floating(grad.dtype(), "adaptive_avg_pool2d backward", [&]<typename T>() {
    launch("adaptive_avg_pool_backward_kernel", adaptive_avg_pool_backward_kernel<T>, grad.numel(), g,
           grad_out.data<T>(), grad.data<T>(), grad.numel());
  });
}

}  // namespace

void register_pooling_kernels(CudaKernels& k) {
  k.adaptive_avg_pool2d = adaptive_avg_pool2d;
  k.adaptive_avg_pool2d_backward = adaptive_avg_pool2d_backward;
}

}  // namespace lamina::cuda
