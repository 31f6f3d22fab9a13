#include <lamina/core/loss.h>

#include <cmath>
#include <stdexcept>
#include <algorithm>
#include <type_traits>

#include <lamina/core/autograd.h>
#include <lamina/core/checks.h>
#include <lamina/core/cuda_kernels.h>
#include <lamina/core/elementwise.h>
#include <lamina/core/shape_ops.h>
#include <lamina/core/functors.h>
#include <lamina/core/parallel.h>
#include <lamina/core/reduction.h>
#include <lamina/core/vector_math.h>

namespace lamina {
namespace {

// Checks scores [N, C] (logits or log-probabilities) against labels int64 [N] with every label in [0, C).
void check_class_labels(const Tensor& scores, const Tensor& labels, const char* op, const char* what) {
  check_defined(scores, op, what);
  check_defined(labels, op, "labels");
  check_floating(scores, op);
  check_same_device(scores, labels, op);
  if (scores.dim() != 2)
    throw std::invalid_argument(std::string(op) + ": expected " + what + " of shape [N, C], got " + describe(scores));
  if (labels.dtype() != DType::Int64)
    throw std::invalid_argument(std::string(op) + ": labels must be int64 class indices, got " + describe(labels));
  if (labels.dim() != 1 || labels.shape()[0] != scores.shape()[0])
    throw std::invalid_argument(std::string(op) + ": labels " + describe(labels) + " do not match " + what + " " +
                                describe(scores) + " (expected labels of shape [" + std::to_string(scores.shape()[0]) + "])");
  const Tensor lc = labels.to(Device::cpu()).contiguous();
  const std::int64_t* y = lc.data<std::int64_t>();
  const std::int64_t classes = scores.shape()[1];
  for (std::int64_t i = 0; i < lc.numel(); ++i)
    if (y[i] < 0 || y[i] >= classes)
      throw std::out_of_range(std::string(op) + ": label " + std::to_string(y[i]) + " (sample " + std::to_string(i) +
                              ") is out of range for C = " + std::to_string(classes) + " classes (" + what + " " +
                              describe(scores) + ")");
}

// Reduces per-sample losses [N] to what `reduction` asks for.
Tensor reduce(const Tensor& losses, Reduction reduction) {
  if (reduction == Reduction::None) return losses;
  const Tensor total = sum(losses);
  return reduction == Reduction::Sum ? total : div(total, static_cast<double>(losses.numel()));
}

// The upstream gradient of sample i: g[i] for None, else the scalar g (divided by the count for Mean).
template <typename T>
T upstream(const T* g, std::int64_t i, Reduction reduction, std::int64_t count) {
  if (reduction == Reduction::None) return g[i];
  return reduction == Reduction::Mean ? g[0] / static_cast<T>(count) : g[0];
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& labels, Reduction reduction) {
  check_class_labels(logits, labels, "cross_entropy", "logits");
  const std::int64_t n = logits.shape()[0], classes = logits.shape()[1];
  const Tensor x = logits.detach().contiguous();
  const Tensor y = labels.detach().contiguous();
  // The softmax probabilities are kept for the backward, (softmax(x) - onehot) * g: no exp there.
  Tensor probs = Tensor::empty({n, classes}, {.dtype = x.dtype(), .device = x.device()});
  Tensor losses = Tensor::empty({n}, {.dtype = x.dtype(), .device = x.device()});
  if (x.device().is_cuda()) cuda_kernel(&CudaKernels::cross_entropy, x, "cross_entropy")(x, y, probs, losses);
  else dispatch_floating(x.dtype(), "cross_entropy", [&]<typename T>() {
    const T* px = x.data<T>();
    const std::int64_t* py = y.data<std::int64_t>();
    T* pp = probs.data<T>();
    T* ploss = losses.data<T>();
    // Blocks of rows, so that exp(x - max) runs over a whole block at once: float32 takes the vectorized exp,
    // and a row of 10 classes is shorter than one vector.
    constexpr std::int64_t kRows = 64;
    const std::int64_t blocks = (n + kRows - 1) / kRows;
#pragma omp parallel for if (n * classes > kParallelGrain)
    for (std::int64_t b = 0; b < blocks; ++b) {
      const std::int64_t first = b * kRows, last = std::min(n, first + kRows);
      T row_max[kRows];
      for (std::int64_t i = first; i < last; ++i) {
        const T* row = px + i * classes;
        T m = row[0];
        for (std::int64_t j = 1; j < classes; ++j) m = row[j] > m ? row[j] : m;
        row_max[i - first] = m;
        for (std::int64_t j = 0; j < classes; ++j) pp[i * classes + j] = row[j] - m;
      }
      T* block = pp + first * classes;
      const std::int64_t count = (last - first) * classes;
      if constexpr (std::is_same_v<T, float>) {
        cpu::exp(block, block, count);
      } else {
        for (std::int64_t k = 0; k < count; ++k) block[k] = std::exp(block[k]);
      }
      for (std::int64_t i = first; i < last; ++i) {
        T* p = pp + i * classes;
        double s = 0;
        for (std::int64_t j = 0; j < classes; ++j) s += p[j];
        const T inv = static_cast<T>(1.0 / s);
        for (std::int64_t j = 0; j < classes; ++j) p[j] *= inv;
        ploss[i] = row_max[i - first] + static_cast<T>(std::log(s)) - px[i * classes + py[i]];
      }
    }
  });
  Tensor out = reduce(losses, reduction);
  if (autograd::needs_grad({&logits})) {
    autograd::record("cross_entropy", out, {logits}, [probs, y, reduction](const Tensor& g) -> std::vector<Tensor> {
      const std::int64_t n = probs.shape()[0], classes = probs.shape()[1];
      const Tensor gc = g.contiguous();
      Tensor gx = Tensor::empty(probs.shape(), {.dtype = probs.dtype(), .device = probs.device()});
      if (probs.device().is_cuda()) {
        const double scale = reduction == Reduction::Mean ? 1.0 / static_cast<double>(n) : 1.0;
        cuda_kernel(&CudaKernels::cross_entropy_backward, probs, "cross_entropy_backward")(
            probs, y, gc, scale, reduction == Reduction::None, gx);
        return {gx};
      }
      dispatch_floating(probs.dtype(), "cross_entropy", [&]<typename T>() {
        const T* pp = probs.data<T>();
        const std::int64_t* py = y.data<std::int64_t>();
        const T* pg = gc.data<T>();
        T* pgx = gx.data<T>();
#pragma omp parallel for if (n * classes > kParallelGrain)
        for (std::int64_t i = 0; i < n; ++i) {
          const T gi = upstream(pg, i, reduction, n);
          for (std::int64_t j = 0; j < classes; ++j)
            pgx[i * classes + j] = functors::CrossEntropyBackward{}(pp[i * classes + j], j == py[i], gi);
        }
      });
      return {gx};
    });
  }
  return out;
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& labels, Reduction reduction) {
  check_class_labels(log_probs, labels, "nll_loss", "log_probs");
  const std::int64_t n = log_probs.shape()[0], classes = log_probs.shape()[1];
  if (log_probs.device().is_cuda()) {
    // On a GPU, as ops with kernels: each row's log-probability at its label (gather), and autograd derives the
    // backward.
    return reduce(neg(gather(log_probs, 1, labels.reshape({n, 1})).reshape({n})), reduction);
  }
  const Tensor x = log_probs.detach().contiguous();
  const Tensor y = labels.detach().contiguous();
  Tensor losses = Tensor::empty({n}, {.dtype = x.dtype()});
  dispatch_floating(x.dtype(), "nll_loss", [&]<typename T>() {
    const T* px = x.data<T>();
    const std::int64_t* py = y.data<std::int64_t>();
    T* ploss = losses.data<T>();
    for (std::int64_t i = 0; i < n; ++i) ploss[i] = -px[i * classes + py[i]];
  });
  Tensor out = reduce(losses, reduction);
  if (autograd::needs_grad({&log_probs})) {
    autograd::record("nll_loss", out, {log_probs}, [y, shape = x.shape(), reduction](const Tensor& g) -> std::vector<Tensor> {
      const Tensor gc = g.contiguous();
      Tensor gx = zeros(shape, {.dtype = g.dtype()});
      dispatch_floating(g.dtype(), "nll_loss", [&]<typename T>() {
        const std::int64_t* py = y.data<std::int64_t>();
        const T* pg = gc.data<T>();
        T* pgx = gx.data<T>();
        for (std::int64_t i = 0; i < shape[0]; ++i) pgx[i * shape[1] + py[i]] = -upstream(pg, i, reduction, shape[0]);
      });
      return {gx};
    });
  }
  return out;
}

Tensor mse_loss(const Tensor& pred, const Tensor& target, Reduction reduction) {
  check_defined(pred, "mse_loss", "prediction");
  check_defined(target, "mse_loss", "target");
  check_floating(pred, "mse_loss");
  check_same_dtype(pred, target, "mse_loss");
  check_same_device(pred, target, "mse_loss");
  if (pred.shape() != target.shape())
    throw std::invalid_argument("mse_loss: prediction " + describe(pred) + " and target " + describe(target) +
                                " differ in shape");
  if (pred.device().is_cuda()) {
    const Tensor d = sub(pred, target);  // as ops with kernels; autograd derives the backward
    return reduce(mul(d, d), reduction);
  }
  const std::int64_t n = pred.numel();
  const Tensor a = pred.detach().contiguous();
  const Tensor b = target.detach().contiguous();
  Tensor losses = Tensor::empty(pred.shape(), {.dtype = pred.dtype()});
  dispatch_floating(pred.dtype(), "mse_loss", [&]<typename T>() {
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* pl = losses.data<T>();
#pragma omp parallel for simd if (n > kParallelGrain)
    for (std::int64_t i = 0; i < n; ++i) pl[i] = functors::SquaredError{}(pa[i], pb[i]);
  });
  Tensor out = reduce(losses, reduction);
  if (autograd::needs_grad({&pred, &target})) {
    autograd::record("mse_loss", out, {pred, target}, [a, b, reduction, rt = target.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
      const std::int64_t n = a.numel();
      const Tensor gc = g.contiguous();
      Tensor ga = Tensor::empty(a.shape(), {.dtype = a.dtype()});
      dispatch_floating(a.dtype(), "mse_loss", [&]<typename T>() {
        const T* pa = a.data<T>();
        const T* pb = b.data<T>();
        const T* pg = gc.data<T>();
        T* pga = ga.data<T>();
#pragma omp parallel for simd if (n > kParallelGrain)
        for (std::int64_t i = 0; i < n; ++i)
          pga[i] = functors::SquaredErrorBackward{}(pa[i], pb[i], upstream(pg, i, reduction, n));
      });
      // d/db (a - b)^2 = -d/da (a - b)^2
      return {ga, rt ? neg(ga) : Tensor()};
    });
  }
  return out;
}

}  // namespace lamina
