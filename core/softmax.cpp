#include <lamina/core/softmax.h>

#include <algorithm>
#include <cmath>

#include <lamina/core/autograd.h>
#include <lamina/core/checks.h>
#include <lamina/core/cuda_kernels.h>
#include <lamina/core/functors.h>
#include <lamina/core/parallel.h>

namespace lamina {
namespace {

// A contiguous tensor seen as [outer, n, inner], the softmax taken over n: the row of (o, i) starts at
// o * n * inner + i and steps by inner.
struct Rows {
  std::int64_t outer = 1, n = 1, inner = 1;
};

Rows rows_of(const Shape& shape, std::int64_t d) {
  Rows r;
  for (std::int64_t k = 0; k < static_cast<std::int64_t>(shape.size()); ++k) {
    if (k < d) r.outer *= shape[k];
    else if (k == d) r.n = shape[k];
    else r.inner *= shape[k];
  }
  return r;
}

// Sums accumulate in double: a float32 sum of many exponentials otherwise drifts.
template <typename T, bool kLog>
inline void forward_row(const T* x, T* y, std::int64_t n, std::int64_t stride) {
  T m = x[0];
#pragma omp simd reduction(max : m)
  for (std::int64_t j = 1; j < n; ++j) m = x[j * stride] > m ? x[j * stride] : m;
  double sum = 0;
  if constexpr (kLog) {
#pragma omp simd reduction(+ : sum)
    for (std::int64_t j = 0; j < n; ++j) sum += std::exp(x[j * stride] - m);
    const T lse = m + static_cast<T>(std::log(sum));
    for (std::int64_t j = 0; j < n; ++j) y[j * stride] = x[j * stride] - lse;
  } else {
#pragma omp simd reduction(+ : sum)
    for (std::int64_t j = 0; j < n; ++j) {
      const T e = std::exp(x[j * stride] - m);
      y[j * stride] = e;
      sum += e;
    }
    const T inv = static_cast<T>(1.0 / sum);
    for (std::int64_t j = 0; j < n; ++j) y[j * stride] *= inv;
  }
}

template <typename T, bool kLog>
inline void backward_row(const T* y, const T* g, T* gx, std::int64_t n, std::int64_t stride) {
  double acc = 0;
#pragma omp simd reduction(+ : acc)
  for (std::int64_t j = 0; j < n; ++j) acc += kLog ? g[j * stride] : g[j * stride] * y[j * stride];
  const T a = static_cast<T>(acc);
  for (std::int64_t j = 0; j < n; ++j) {
    const std::int64_t k = j * stride;
    gx[k] = kLog ? functors::LogSoftmaxBackward{}(y[k], g[k], a) : functors::SoftmaxBackward{}(y[k], g[k], a);
  }
}

// Calls row(start, stride) for every row. The last dimension (inner == 1, the classifier case) gets its own
// loop so that the compiler sees unit stride and vectorizes.
template <typename RowFn>
void for_each_row(const Rows& r, RowFn row) {
  if (r.inner == 1) {
#pragma omp parallel for if (r.outer * r.n > kParallelGrain)
    for (std::int64_t o = 0; o < r.outer; ++o) row(o * r.n, std::int64_t{1});
    return;
  }
  const std::int64_t rows = r.outer * r.inner;
#pragma omp parallel for if (rows * r.n > kParallelGrain)
  for (std::int64_t c = 0; c < rows; ++c) row((c / r.inner) * r.n * r.inner + c % r.inner, r.inner);
}

template <bool kLog>
Tensor softmax_op(const Tensor& x, std::int64_t dim, const char* op) {
  check_defined(x, op);
  check_floating(x, op);
  // A 0-d tensor is one row of one element, as in PyTorch.
  const std::int64_t d = wrap_dim(dim, std::max<std::int64_t>(x.dim(), 1), op);
  const Rows r = rows_of(x.shape(), d);
  const Tensor xc = x.detach().contiguous();
  Tensor out = Tensor::empty(x.shape(), {.dtype = x.dtype(), .device = x.device()});
  if (x.device().is_cuda()) {
    if (x.numel() > 0) cuda_kernel(&CudaKernels::softmax, x, op)(xc, out, r.outer, r.n, r.inner, kLog);
  } else if (x.numel() > 0) {
    dispatch_floating(x.dtype(), op, [&]<typename T>() {
      const T* px = xc.data<T>();
      T* py = out.data<T>();
      for_each_row(r, [&](std::int64_t start, std::int64_t stride) {
        forward_row<T, kLog>(px + start, py + start, r.n, stride);
      });
    });
  }
  if (autograd::needs_grad({&x})) {
    autograd::record(op, out, {x}, [y = out.detach(), r, op](const Tensor& g) -> std::vector<Tensor> {
      const Tensor gc = g.contiguous();
      Tensor gx = Tensor::empty(y.shape(), {.dtype = y.dtype(), .device = y.device()});
      if (y.device().is_cuda()) {
        if (y.numel() > 0) cuda_kernel(&CudaKernels::softmax_backward, y, op)(y, gc, gx, r.outer, r.n, r.inner, kLog);
      } else if (y.numel() > 0) {
        dispatch_floating(y.dtype(), op, [&]<typename T>() {
          const T* py = y.data<T>();
          const T* pg = gc.data<T>();
          T* pgx = gx.data<T>();
          for_each_row(r, [&](std::int64_t start, std::int64_t stride) {
            backward_row<T, kLog>(py + start, pg + start, pgx + start, r.n, stride);
          });
        });
      }
      return {gx};
    });
  }
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim) { return softmax_op<false>(x, dim, "softmax"); }
Tensor log_softmax(const Tensor& x, std::int64_t dim) { return softmax_op<true>(x, dim, "log_softmax"); }

Tensor Tensor::softmax(std::int64_t dim) const { return lamina::softmax(*this, dim); }
Tensor Tensor::log_softmax(std::int64_t dim) const { return lamina::log_softmax(*this, dim); }

}  // namespace lamina
