// CUDA kernels of softmax, log_softmax and cross entropy: one thread per row (the rows of a classifier are short;
// a row of tens of thousands of classes would want a block per row). The backward formulas are the functors the
// CPU uses. Exponential sums accumulate in double, as on the CPU.
#include <lamina/core/cuda/kernels.h>
#include <lamina/core/cuda/launch.h>

namespace lamina::cuda {
namespace {

// The row (o, i) of a contiguous [outer, n, inner] tensor starts at o * n * inner + i and steps by inner.
__device__ inline std::int64_t row_start(std::int64_t row, std::int64_t n, std::int64_t inner) {
  return (row / inner) * n * inner + row % inner;
}

template <typename T>
__global__ void softmax_kernel(const T* x, T* y, std::int64_t rows, std::int64_t n, std::int64_t inner, bool log) {
  LAMINA_GRID_STRIDE_LOOP(row, rows) {
    const T* xr = x + row_start(row, n, inner);
    T* yr = y + row_start(row, n, inner);
    T m = xr[0];
    for (std::int64_t j = 1; j < n; ++j) m = xr[j * inner] > m ? xr[j * inner] : m;
    double sum = 0;
    for (std::int64_t j = 0; j < n; ++j) sum += std::exp(xr[j * inner] - m);
    if (log) {
      const T lse = m + static_cast<T>(std::log(sum));
      for (std::int64_t j = 0; j < n; ++j) yr[j * inner] = xr[j * inner] - lse;
    } else {
      const T inv = static_cast<T>(1.0 / sum);
      for (std::int64_t j = 0; j < n; ++j) yr[j * inner] = std::exp(xr[j * inner] - m) * inv;
    }
  }
}

template <typename T>
__global__ void softmax_backward_kernel(const T* y, const T* g, T* gx, std::int64_t rows, std::int64_t n,
                                        std::int64_t inner, bool log) {
  LAMINA_GRID_STRIDE_LOOP(row, rows) {
    const std::int64_t start = row_start(row, n, inner);
    double acc = 0;
    for (std::int64_t j = 0; j < n; ++j) {
      const std::int64_t k = start + j * inner;
      acc += log ? g[k] : g[k] * y[k];
    }
    const T a = static_cast<T>(acc);
    for (std::int64_t j = 0; j < n; ++j) {
      const std::int64_t k = start + j * inner;
      gx[k] = log ? functors::LogSoftmaxBackward{}(y[k], g[k], a) : functors::SoftmaxBackward{}(y[k], g[k], a);
    }
  }
}

template <typename T>
__global__ void cross_entropy_kernel(const T* x, const std::int64_t* labels, T* probs, T* losses, std::int64_t rows,
                                     std::int64_t classes) {
  LAMINA_GRID_STRIDE_LOOP(i, rows) {
    const T* row = x + i * classes;
    T* p = probs + i * classes;
    T m = row[0];
    for (std::int64_t j = 1; j < classes; ++j) m = row[j] > m ? row[j] : m;
    double sum = 0;
    for (std::int64_t j = 0; j < classes; ++j) {
      p[j] = std::exp(row[j] - m);
      sum += p[j];
    }
    const T inv = static_cast<T>(1.0 / sum);
    for (std::int64_t j = 0; j < classes; ++j) p[j] *= inv;
    losses[i] = m + static_cast<T>(std::log(sum)) - row[labels[i]];
  }
}

template <typename T>
__global__ void cross_entropy_backward_kernel(const T* probs, const std::int64_t* labels, const T* g, T g_scale,
                                              bool g_per_row, T* grad, std::int64_t rows, std::int64_t classes) {
  LAMINA_GRID_STRIDE_LOOP(k, rows * classes) {
    const std::int64_t i = k / classes, j = k % classes;
    const T gi = (g_per_row ? g[i] : g[0]) * g_scale;
    grad[k] = functors::CrossEntropyBackward{}(probs[k], j == labels[i], gi);
  }
}

void softmax(const Tensor& x, const Tensor& y, std::int64_t outer, std::int64_t n, std::int64_t inner, bool log) {
  const std::int64_t rows = outer * inner;
  DeviceGuard guard(y.device().index);
  dispatch_floating(y.dtype(), "softmax", [&]<typename T>() {
    launch("softmax_kernel", softmax_kernel<T>, rows, x.data<T>(), y.data<T>(), rows, n, inner, log);
  });
}

void softmax_backward(const Tensor& y, const Tensor& g, const Tensor& gx, std::int64_t outer, std::int64_t n,
                      std::int64_t inner, bool log) {
  const std::int64_t rows = outer * inner;
  DeviceGuard guard(gx.device().index);
  dispatch_floating(gx.dtype(), "softmax_backward", [&]<typename T>() {
    launch("softmax_backward_kernel", softmax_backward_kernel<T>, rows, y.data<T>(), g.data<T>(), gx.data<T>(), rows, n,
           inner, log);
  });
}

void cross_entropy(const Tensor& logits, const Tensor& labels, const Tensor& probs, const Tensor& losses) {
  const std::int64_t rows = logits.shape()[0], classes = logits.shape()[1];
  if (rows == 0) return;
  DeviceGuard guard(logits.device().index);
  dispatch_floating(logits.dtype(), "cross_entropy", [&]<typename T>() {
    launch("cross_entropy_kernel", cross_entropy_kernel<T>, rows, logits.data<T>(), labels.data<std::int64_t>(),
           probs.data<T>(), losses.data<T>(), rows, classes);
  });
}

void cross_entropy_backward(const Tensor& probs, const Tensor& labels, const Tensor& g, double g_scale, bool g_per_row,
                            const Tensor& grad) {
  const std::int64_t rows = probs.shape()[0], classes = probs.shape()[1];
  if (rows * classes == 0) return;
  DeviceGuard guard(probs.device().index);
  dispatch_floating(probs.dtype(), "cross_entropy_backward", [&]<typename T>() {
    launch("cross_entropy_backward_kernel", cross_entropy_backward_kernel<T>, rows * classes, probs.data<T>(),
           labels.data<std::int64_t>(), g.data<T>(), static_cast<T>(g_scale), g_per_row, grad.data<T>(), rows, classes);
  });
}

}  // namespace

void register_softmax_kernels(CudaKernels& k) {
  k.softmax = softmax;
  k.softmax_backward = softmax_backward;
  k.cross_entropy = cross_entropy;
  k.cross_entropy_backward = cross_entropy_backward;
}

}  // namespace lamina::cuda
