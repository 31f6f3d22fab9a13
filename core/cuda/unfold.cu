// CUDA kernels of unfold (im2col) and its adjoint (col2im): one thread per output element, each running the index
// function of core/im2col.h that the CPU path of unfold runs too.
#include <lamina/core/cuda/kernels.h>
#include <lamina/core/cuda/launch.h>

namespace lamina::cuda {
namespace {

template <typename T>
__global__ void im2col_kernel(kernels::ConvGeometry g, std::int64_t batch, const T* x, T* col, std::int64_t n, T pad) {
  LAMINA_GRID_STRIDE_LOOP(k, n) col[k] = kernels::im2col_element(g, batch, x, k, pad);
}

template <typename T>
__global__ void col2im_kernel(kernels::ConvGeometry g, std::int64_t batch, const T* col, std::int64_t ld, T* x, std::int64_t n) {
  LAMINA_GRID_STRIDE_LOOP(k, n) x[k] = kernels::col2im_element(g, batch, col, ld, k);
}

void im2col(const Tensor& xt, const Tensor& col, const kernels::ConvGeometry& g, std::int64_t batch, double pad) {
  DeviceGuard guard(col.device().index);
  dispatch_floating(col.dtype(), "unfold", [&]<typename T>() {
    launch("im2col_kernel", im2col_kernel<T>, col.numel(), g, batch, xt.data<T>(), col.data<T>(), col.numel(),
           static_cast<T>(pad));
  });
}

void col2im(const Tensor& col, const Tensor& xt, const kernels::ConvGeometry& g, std::int64_t batch) {
  DeviceGuard guard(xt.device().index);
  dispatch_floating(xt.dtype(), "unfold backward", [&]<typename T>() {
    launch("col2im_kernel", col2im_kernel<T>, xt.numel(), g, batch, col.data<T>(), col.shape()[1], xt.data<T>(), xt.numel());
  });
}

}  // namespace

void register_unfold_kernels(CudaKernels& k) {
  k.im2col = im2col;
  k.col2im = col2im;
}

}  // namespace lamina::cuda
