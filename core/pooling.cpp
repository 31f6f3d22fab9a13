#include <lamina/core/pooling.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <lamina/core/autograd.h>
#include <lamina/core/checks.h>
#include <lamina/core/cuda_kernels.h>
#include <lamina/core/indexing.h>
#include <lamina/core/reduction.h>
#include <lamina/core/unfold.h>
#include <lamina/core/parallel.h>

namespace lamina {
namespace {

// Every pooling kernel works plane by plane: the N*C planes of [N, C, H, W] are independent.
struct PoolGeometry {
  std::int64_t planes, height, width;
  std::int64_t out_h, out_w;
};

void check_pool_input(const Tensor& x, const char* op) {
  check_defined(x, op);
  check_floating(x, op);
  if (x.dim() != 4) throw std::invalid_argument(std::string(op) + ": expected a 4-d input [N, C, H, W], got " + describe(x));
  if (x.shape()[2] == 0 || x.shape()[3] == 0)
    throw std::invalid_argument(std::string(op) + ": input " + describe(x) + " has an empty plane");
}

Shape out_shape(const Tensor& x, std::int64_t out_h, std::int64_t out_w) { return {x.shape()[0], x.shape()[1], out_h, out_w}; }

// The window of output index o along one axis, clipped to the input. `count` is its length counting padding
// (clipped only past the far padded edge): avg_pool2d divides by it, as PyTorch does with count_include_pad.
struct Window {
  std::int64_t start, end, count;
};

std::vector<Window> pool_windows(std::int64_t out, std::int64_t stride, std::int64_t pad, std::int64_t kernel, std::int64_t size) {
  std::vector<Window> windows(out);
  for (std::int64_t o = 0; o < out; ++o) {
    const std::int64_t start = o * stride - pad;
    const std::int64_t end = std::min(start + kernel, size + pad);
    windows[o] = {std::max<std::int64_t>(start, 0), std::min(end, size), end - start};
  }
  return windows;
}

// PyTorch's adaptive windows (kernels::adaptive_window, which the CUDA kernels run).
std::vector<Window> adaptive_windows(std::int64_t out, std::int64_t in) {
  std::vector<Window> windows(out);
  for (std::int64_t o = 0; o < out; ++o) {
    const kernels::Span w = kernels::adaptive_window(o, in, out);
    windows[o] = {w.start, w.end, w.end - w.start};
  }
  return windows;
}

struct Windows {
  std::vector<Window> rows, cols;
};

// A fixed-size pooling's checks, output size and windows.
struct FixedPool {
  PoolGeometry geometry;
  Windows windows;
};

FixedPool check_pool_args(const Tensor& x, IntPair kernel, std::optional<IntPair> stride_arg, IntPair padding, const char* op) {
  check_pool_input(x, op);
  const IntPair stride = stride_arg.value_or(kernel);
  if (kernel.h < 1 || kernel.w < 1 || stride.h < 1 || stride.w < 1)
    throw std::invalid_argument(std::string(op) + ": kernel " + kernel.str() + " and stride " + stride.str() +
                                " must be positive");
  if (padding.h < 0 || padding.w < 0 || 2 * padding.h > kernel.h || 2 * padding.w > kernel.w)
    throw std::invalid_argument(std::string(op) + ": padding " + padding.str() +
                                " must be non-negative and at most half the kernel " + kernel.str());
  const std::int64_t height = x.shape()[2], width = x.shape()[3];
  const std::int64_t span_h = height + 2 * padding.h - kernel.h, span_w = width + 2 * padding.w - kernel.w;
  if (span_h < 0 || span_w < 0)
    throw std::invalid_argument(std::string(op) + ": kernel " + kernel.str() + " with padding " + padding.str() +
                                " does not fit input " + describe(x));
  const PoolGeometry g{x.shape()[0] * x.shape()[1], height, width, span_h / stride.h + 1, span_w / stride.w + 1};
  return {g, {pool_windows(g.out_h, stride.h, padding.h, kernel.h, height), pool_windows(g.out_w, stride.w, padding.w, kernel.w, width)}};
}

// On a GPU: every plane's windows as the columns of unfold (one channel per plane), reduced over the rows by a max
// or a mean, as differentiable ops; autograd derives the backward. Max pooling pads with -infinity, so padding
// never wins; average pooling pads with zeros and divides by the whole window (count_include_pad).
Tensor pool_with_unfold(const Tensor& x, IntPair kernel, IntPair stride, IntPair padding, const PoolGeometry& g, bool max) {
  const std::int64_t batch = x.shape()[0], channels = x.shape()[1];
  kernels::ConvGeometry conv{};
  conv.channels = 1;
  conv.height = g.height;
  conv.width = g.width;
  conv.kernel_h = kernel.h;
  conv.kernel_w = kernel.w;
  conv.stride_h = stride.h;
  conv.stride_w = stride.w;
  conv.pad_h = padding.h;
  conv.pad_w = padding.w;
  conv.dilation_h = conv.dilation_w = 1;
  conv.out_h = g.out_h;
  conv.out_w = g.out_w;
  const Tensor col = unfold(x.reshape({batch * channels, 1, g.height, g.width}), conv,
                            max ? -std::numeric_limits<double>::infinity() : 0.0);
  const Tensor pooled = max ? lamina::max(col, 0) : mean(col, {0});  // [OH * OW * N * C]
  return pooled.view({g.out_h, g.out_w, batch, channels}).permute({2, 3, 0, 1}).contiguous();
}

template <typename T>
void max_pool_forward(const PoolGeometry& g, const Windows& win, const T* x, T* out, std::int64_t* indices) {
#pragma omp parallel for if (g.planes * g.height * g.width > kParallelGrain)
  for (std::int64_t plane = 0; plane < g.planes; ++plane) {
    const T* src = x + plane * g.height * g.width;
    const std::int64_t base = plane * g.out_h * g.out_w;
    for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
      const Window& wh = win.rows[oh];
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        const Window& ww = win.cols[ow];
        T best = -std::numeric_limits<T>::infinity();
        std::int64_t best_index = wh.start * g.width + ww.start;
        for (std::int64_t h = wh.start; h < wh.end; ++h) {
          for (std::int64_t w = ww.start; w < ww.end; ++w) {
            const T v = src[h * g.width + w];
            if (v > best || std::isnan(v)) {
              best = v;
              best_index = h * g.width + w;
            }
          }
        }
        out[base + oh * g.out_w + ow] = best;
        indices[base + oh * g.out_w + ow] = best_index;
      }
    }
  }
}

template <typename T>
void max_pool_backward(const PoolGeometry& g, const T* grad_out, const std::int64_t* indices, T* grad_x) {
  const std::int64_t in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
#pragma omp parallel for if (g.planes * in_plane > kParallelGrain)
  for (std::int64_t plane = 0; plane < g.planes; ++plane) {
    T* dst = grad_x + plane * in_plane;
    std::fill(dst, dst + in_plane, T(0));
    for (std::int64_t i = plane * out_plane; i < (plane + 1) * out_plane; ++i) dst[indices[i]] += grad_out[i];
  }
}

template <typename T>
void avg_pool_forward(const PoolGeometry& g, const Windows& win, const T* x, T* out) {
#pragma omp parallel for if (g.planes * g.height * g.width > kParallelGrain)
  for (std::int64_t plane = 0; plane < g.planes; ++plane) {
    const T* src = x + plane * g.height * g.width;
    T* dst = out + plane * g.out_h * g.out_w;
    for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
      const Window& wh = win.rows[oh];
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        const Window& ww = win.cols[ow];
        T s = 0;
        for (std::int64_t h = wh.start; h < wh.end; ++h)
          for (std::int64_t w = ww.start; w < ww.end; ++w) s += src[h * g.width + w];
        dst[oh * g.out_w + ow] = s / static_cast<T>(wh.count * ww.count);
      }
    }
  }
}

template <typename T>
void avg_pool_backward(const PoolGeometry& g, const Windows& win, const T* grad_out, T* grad_x) {
  const std::int64_t in_plane = g.height * g.width;
#pragma omp parallel for if (g.planes * in_plane > kParallelGrain)
  for (std::int64_t plane = 0; plane < g.planes; ++plane) {
    const T* src = grad_out + plane * g.out_h * g.out_w;
    T* dst = grad_x + plane * in_plane;
    std::fill(dst, dst + in_plane, T(0));
    for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
      const Window& wh = win.rows[oh];
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        const Window& ww = win.cols[ow];
        const T share = src[oh * g.out_w + ow] / static_cast<T>(wh.count * ww.count);
        for (std::int64_t h = wh.start; h < wh.end; ++h)
          for (std::int64_t w = ww.start; w < ww.end; ++w) dst[h * g.width + w] += share;
      }
    }
  }
}

// 2x2 windows with stride 2 and no padding, the usual downsampling (LeNet's), without the window tables: the
// loops vectorize, ~4x faster than the general ones here. Same sums in the same order, so the same results.
template <typename T>
void avg_pool_2x2_forward(const PoolGeometry& g, const T* x, T* out) {
#pragma omp parallel for if (g.planes * g.height * g.width > kParallelGrain)
  for (std::int64_t plane = 0; plane < g.planes; ++plane) {
    const T* src = x + plane * g.height * g.width;
    T* dst = out + plane * g.out_h * g.out_w;
    for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
      const T* r0 = src + 2 * oh * g.width;
      const T* r1 = r0 + g.width;
      for (std::int64_t ow = 0; ow < g.out_w; ++ow)
        dst[oh * g.out_w + ow] = (r0[2 * ow] + r0[2 * ow + 1] + r1[2 * ow] + r1[2 * ow + 1]) * T(0.25);
    }
  }
}

template <typename T>
void avg_pool_2x2_backward(const PoolGeometry& g, const T* grad_out, T* grad_x) {
  const std::int64_t in_plane = g.height * g.width;
#pragma omp parallel for if (g.planes * in_plane > kParallelGrain)
  for (std::int64_t plane = 0; plane < g.planes; ++plane) {
    const T* src = grad_out + plane * g.out_h * g.out_w;
    T* dst = grad_x + plane * in_plane;
    for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
      T* r0 = dst + 2 * oh * g.width;
      T* r1 = r0 + g.width;
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        const T share = src[oh * g.out_w + ow] * T(0.25);
        r0[2 * ow] = r0[2 * ow + 1] = r1[2 * ow] = r1[2 * ow + 1] = share;
      }
      // An odd width leaves a last column no window covers.
      for (std::int64_t w = 2 * g.out_w; w < g.width; ++w) r0[w] = r1[w] = T(0);
    }
    std::fill(dst + 2 * g.out_h * g.width, dst + in_plane, T(0));  // and an odd height a last row
  }
}

// avg_pool2d and adaptive_avg_pool2d differ only in their windows.
Tensor avg_pool(const Tensor& x, const PoolGeometry& g, Windows win, bool two_by_two, const char* op) {
  const Tensor xc = x.detach().contiguous();
  Tensor out = Tensor::empty(out_shape(x, g.out_h, g.out_w), {.dtype = x.dtype()});
  dispatch_floating(x.dtype(), op, [&]<typename T>() {
    if (two_by_two) avg_pool_2x2_forward<T>(g, xc.data<T>(), out.data<T>());
    else avg_pool_forward<T>(g, win, xc.data<T>(), out.data<T>());
  });
  if (autograd::needs_grad({&x})) {
    autograd::record(op, out, {x}, [g, win = std::move(win), two_by_two, in_shape = x.shape(), op](const Tensor& grad) -> std::vector<Tensor> {
      const Tensor gc = grad.contiguous();
      Tensor gx = Tensor::empty(in_shape, {.dtype = grad.dtype()});
      dispatch_floating(grad.dtype(), op, [&]<typename T>() {
        if (two_by_two) avg_pool_2x2_backward<T>(g, gc.data<T>(), gx.data<T>());
        else avg_pool_backward<T>(g, win, gc.data<T>(), gx.data<T>());
      });
      return {gx};
    });
  }
  return out;
}

// On a GPU, one thread per element with the element functions of core/indexing.h; the backward is a gather (each
// input element sums the shares of the outputs whose windows hold it), so it needs no atomics. The CPU scatters
// instead: with window tables, a division-free loop, several times faster on a CPU than the per-element form.
Tensor adaptive_avg_pool_on_device(const Tensor& x, const kernels::AdaptivePoolGeometry& g) {
  const Tensor xc = x.detach().contiguous();
  Tensor out = Tensor::empty(out_shape(x, g.out_h, g.out_w), {.dtype = x.dtype(), .device = x.device()});
  cuda_kernel(&CudaKernels::adaptive_avg_pool2d, x, "adaptive_avg_pool2d")(xc, out, g);
  if (autograd::needs_grad({&x})) {
    autograd::record("adaptive_avg_pool2d", out, {x}, [g, in_shape = x.shape()](const Tensor& grad) -> std::vector<Tensor> {
      Tensor gx = Tensor::empty(in_shape, {.dtype = grad.dtype(), .device = grad.device()});
      cuda_kernel(&CudaKernels::adaptive_avg_pool2d_backward, grad, "adaptive_avg_pool2d backward")(grad.contiguous(), gx, g);
      return {gx};
    });
  }
  return out;
}

}  // namespace

Tensor max_pool2d(const Tensor& x, IntPair kernel, std::optional<IntPair> stride, IntPair padding) {
  const FixedPool pool = check_pool_args(x, kernel, stride, padding, "max_pool2d");
  const PoolGeometry& g = pool.geometry;
  if (x.device().is_cuda()) return pool_with_unfold(x, kernel, stride.value_or(kernel), padding, g, true);
  const Tensor xc = x.detach().contiguous();
  const Shape shape = out_shape(x, g.out_h, g.out_w);
  Tensor out = Tensor::empty(shape, {.dtype = x.dtype()});
  const Tensor indices = Tensor::empty(shape, {.dtype = DType::Int64});
  dispatch_floating(x.dtype(), "max_pool2d", [&]<typename T>() {
    max_pool_forward<T>(g, pool.windows, xc.data<T>(), out.data<T>(), indices.data<std::int64_t>());
  });
  if (autograd::needs_grad({&x})) {
    autograd::record("max_pool2d", out, {x}, [g, in_shape = x.shape(), indices](const Tensor& grad) -> std::vector<Tensor> {
      const Tensor gc = grad.contiguous();
      Tensor gx = Tensor::empty(in_shape, {.dtype = grad.dtype()});
      dispatch_floating(grad.dtype(), "max_pool2d", [&]<typename T>() {
        max_pool_backward<T>(g, gc.data<T>(), indices.data<std::int64_t>(), gx.data<T>());
      });
      return {gx};
    });
  }
  return out;
}

Tensor avg_pool2d(const Tensor& x, IntPair kernel, std::optional<IntPair> stride, IntPair padding) {
  FixedPool pool = check_pool_args(x, kernel, stride, padding, "avg_pool2d");
  if (x.device().is_cuda()) return pool_with_unfold(x, kernel, stride.value_or(kernel), padding, pool.geometry, false);
  const IntPair s = stride.value_or(kernel);
  const bool two_by_two = kernel.h == 2 && kernel.w == 2 && s.h == 2 && s.w == 2 && padding.h == 0 && padding.w == 0;
  return avg_pool(x, pool.geometry, std::move(pool.windows), two_by_two, "avg_pool2d");
}

Tensor adaptive_avg_pool2d(const Tensor& x, IntPair output_size) {
  check_pool_input(x, "adaptive_avg_pool2d");
  if (output_size.h < 1 || output_size.w < 1)
    throw std::invalid_argument("adaptive_avg_pool2d: output size " + output_size.str() + " must be positive (input " +
                                describe(x) + ")");
  const PoolGeometry g{x.shape()[0] * x.shape()[1], x.shape()[2], x.shape()[3], output_size.h, output_size.w};
  if (x.device().is_cuda()) return adaptive_avg_pool_on_device(x, {g.height, g.width, g.out_h, g.out_w});
  return avg_pool(x, g, Windows{adaptive_windows(g.out_h, g.height), adaptive_windows(g.out_w, g.width)},
                  false, "adaptive_avg_pool2d");
}

}  // namespace lamina
