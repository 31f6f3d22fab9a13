#include <lamina/core/unfold.h>

#include <lamina/core/autograd.h>
#include <lamina/core/checks.h>
#include <lamina/core/cuda_kernels.h>
#include <lamina/core/parallel.h>

namespace lamina {

void cpu::im2col(const Tensor& xt, const Tensor& col, const kernels::ConvGeometry& g, std::int64_t batch, double pad) {
  dispatch_floating(col.dtype(), "unfold", [&]<typename T>() {
    const T* px = xt.data<T>();
    T* pc = col.data<T>();
    const std::int64_t n = col.numel();
#pragma omp parallel for if (n > kParallelGrain)
    for (std::int64_t k = 0; k < n; ++k) pc[k] = kernels::im2col_element(g, batch, px, k, static_cast<T>(pad));
  });
}

void cpu::col2im(const Tensor& col, const Tensor& xt, const kernels::ConvGeometry& g, std::int64_t batch) {
  dispatch_floating(xt.dtype(), "unfold backward", [&]<typename T>() {
    const T* pc = col.data<T>();
    T* px = xt.data<T>();
    const std::int64_t n = xt.numel(), ld = col.shape()[1];
#pragma omp parallel for if (n > kParallelGrain)
    for (std::int64_t k = 0; k < n; ++k) px[k] = kernels::col2im_element(g, batch, pc, ld, k);
  });
}

namespace {

// xt [C, H, W, batch] -> col, or its adjoint col -> xt: the batch innermost, as the index functions expect.
void im2col(const Tensor& xt, const Tensor& col, const kernels::ConvGeometry& g, std::int64_t batch, double pad) {
  if (col.device().is_cuda()) cuda_kernel(&CudaKernels::im2col, col, "unfold")(xt, col, g, batch, pad);
  else cpu::im2col(xt, col, g, batch, pad);
}

void col2im(const Tensor& col, const Tensor& xt, const kernels::ConvGeometry& g, std::int64_t batch) {
  if (xt.device().is_cuda()) cuda_kernel(&CudaKernels::col2im, xt, "unfold backward")(col, xt, g, batch);
  else cpu::col2im(col, xt, g, batch);
}

}  // namespace

Tensor unfold(const Tensor& x, const kernels::ConvGeometry& g, double pad) {
  check_defined(x, "unfold");
  check_floating(x, "unfold");
  if (x.dim() != 4 || x.shape()[1] != g.channels || x.shape()[2] != g.height || x.shape()[3] != g.width)
    throw std::invalid_argument("unfold: input " + describe(x) + " does not match the geometry's " +
                                std::to_string(g.channels) + " channels of " + std::to_string(g.height) + "x" +
                                std::to_string(g.width));
  const std::int64_t batch = x.shape()[0];
  const Tensor xt = x.detach().permute({1, 2, 3, 0}).contiguous();
  Tensor col = Tensor::empty({g.channels * g.kernel_h * g.kernel_w, g.out_h * g.out_w * batch},
                             {.dtype = x.dtype(), .device = x.device()});
  im2col(xt, col, g, batch, pad);
  if (autograd::needs_grad({&x})) {
    autograd::record("unfold", col, {x}, [g, batch, xt_shape = xt.shape()](const Tensor& grad) -> std::vector<Tensor> {
      Tensor gxt = Tensor::empty(xt_shape, {.dtype = grad.dtype(), .device = grad.device()});
      col2im(grad.contiguous(), gxt, g, batch);
      return {gxt.permute({3, 0, 1, 2}).contiguous()};
    });
  }
  return col;
}

}  // namespace lamina
