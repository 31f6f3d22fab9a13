#include <lamina/core/normalization.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include <lamina/core/autograd.h>
#include <lamina/core/checks.h>
#include <lamina/core/elementwise.h>
#include <lamina/core/reduction.h>
#include <lamina/core/shape_ops.h>
#include <lamina/core/functors.h>
#include <lamina/core/parallel.h>

namespace lamina {
namespace {

// An optional parameter or buffer must have `shape` and x's dtype.
void check_param(const Tensor& p, const Tensor& x, const Shape& shape, const char* op, const char* what,
                 const std::string& expected) {
  if (!p.defined()) return;
  check_same_device(p, x, op);
  if (p.dtype() != x.dtype() || p.shape() != shape)
    throw std::invalid_argument(std::string(op) + ": " + what + " " + describe(p) + " does not match " + expected +
                                " of input " + describe(x) + " (expected " + dtype_name(x.dtype()) + " " +
                                shape_str(shape) + ")");
}

}  // namespace

namespace {

// Per-channel sums of f(value) over a [batch, channels, spatial] tensor, in double: channel c is `batch` runs of
// `spatial` values, `channels * spatial` apart.
template <typename T, typename F>
void channel_sums(const T* px, std::int64_t batch, std::int64_t channels, std::int64_t spatial, double* out, F f) {
#pragma omp parallel for if (batch * channels * spatial > kParallelGrain)
  for (std::int64_t c = 0; c < channels; ++c) {
    double s = 0;
    for (std::int64_t n = 0; n < batch; ++n) {
      const T* row = px + (n * channels + c) * spatial;
#pragma omp simd reduction(+ : s)
      for (std::int64_t k = 0; k < spatial; ++k) s += f(row[k], c);
    }
    out[c] = s;
  }
}

// The CUDA path of both normalizations is differentiable tensor ops, whose backward autograd derives (the CPU's
// fused loops here are host code): the statistics, then (x - mean) / sqrt(var + eps).
struct Moments {
  Tensor mean, centered, var;  // centered = x - mean; var: the biased variance
};

// Over `dims` (kept).
Moments moments(const Tensor& x, const Shape& dims) {
  const Tensor mean = lamina::mean(x, dims, true);
  const Tensor centered = sub(x, mean);
  return {mean, centered, lamina::mean(mul(centered, centered), dims, true)};
}

Tensor normalize_with_ops(const Moments& m, double eps) { return mul(m.centered, rdiv(sqrt(add(m.var, eps)), 1.0)); }

// Replaces `sums` (float64) by their total over all processes when a reducer is given (SyncBatchNorm).
void combine(const StatisticsReducer& reduce, Tensor& sums) {
  if (reduce) reduce(sums);
}

void check_count(double count, const Tensor& x) {
  if (count <= 1)
    throw std::invalid_argument("batch_norm: training needs more than one value per channel, got input " + describe(x));
}

// reduce(partial) as a differentiable op: every process's loss depends on the total, so the gradient of each
// process's partial sums is the total of the processes' gradients, an all-reduce in the backward pass too.
Tensor total_over_processes(const Tensor& partial, const StatisticsReducer& reduce) {
  Tensor total = partial.detach().clone();
  reduce(total);
  if (autograd::needs_grad({&partial})) {
    autograd::record("batch_norm statistics", total, {partial}, [reduce](const Tensor& g) -> std::vector<Tensor> {
      Tensor total_g = g.clone();
      reduce(total_g);
      return {total_g};
    });
  }
  return total;
}

// The batch's per-channel mean and biased variance of x (over `dims`, kept) as differentiable ops: the CUDA path.
// With a reducer (SyncBatchNorm) they are those of every process's values, computed as on the CPU: the per-channel
// sums and the value count are totalled in float64 (count becomes the total), then the squared deviations from
// that mean. The sums stay on x's device: the reducer all-reduces them there (over NCCL for CUDA tensors).
Moments batch_statistics(const Tensor& x, const Shape& dims, const Shape& per_channel, const StatisticsReducer& reduce,
                         double& count) {
  if (!reduce) {
    check_count(count, x);
    return moments(x, dims);
  }
  const std::int64_t channels = x.shape()[1];
  const TensorOptions f64 = {.dtype = DType::Float64, .device = x.device()};
  const Tensor sums = total_over_processes(cat({sum(x, dims).to(DType::Float64), full({1}, count, f64)}, 0), reduce);
  count = sums.slice(0, channels, channels + 1).item();
  check_count(count, x);
  const Tensor mean = div(sums.slice(0, 0, channels), count).to(x.dtype()).reshape(per_channel);
  const Tensor centered = sub(x, mean);
  const Tensor squares = total_over_processes(sum(mul(centered, centered), dims).to(DType::Float64), reduce);
  return {mean, centered, div(squares, count).to(x.dtype()).reshape(per_channel)};
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum, double eps, const StatisticsReducer& reduce) {
  const char* op = "batch_norm";
  check_defined(x, op);
  check_floating(x, op);
  if (x.dim() < 2)
    throw std::invalid_argument("batch_norm: expected input of shape [N, C] or [N, C, H, W], got " + describe(x));
  const std::int64_t batch = x.shape()[0], channels = x.shape()[1];
  const std::int64_t spatial = batch * channels == 0 ? 0 : x.numel() / (batch * channels);
  const std::string expected = "the " + std::to_string(channels) + " channels";
  check_param(weight, x, {channels}, op, "weight", expected);
  check_param(bias, x, {channels}, op, "bias", expected);
  check_param(running_mean, x, {channels}, op, "running_mean", expected);
  check_param(running_var, x, {channels}, op, "running_var", expected);
  if (running_mean.defined() != running_var.defined())
    throw std::invalid_argument("batch_norm: running_mean and running_var must be given together");
  const bool batch_stats = training || !running_mean.defined();
  const bool update_running = training && running_mean.defined();

  // Values per channel: here, or over every process when the statistics are combined.
  double count = static_cast<double>(batch * spatial);
  if (x.device().is_cuda()) {
    Shape dims = {0}, per_channel(x.dim(), 1);
    for (std::int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
    per_channel[1] = channels;
    Moments m;
    if (batch_stats) {
      m = batch_statistics(x, dims, per_channel, reduce, count);
      if (update_running) {
        NoGradGuard no_grad;
        Tensor rm = running_mean, rv = running_var;
        rm.mul_(1 - momentum).add_(m.mean.detach().reshape({channels}), momentum);
        rv.mul_(1 - momentum).add_(m.var.detach().reshape({channels}), momentum * count / (count - 1));
      }
    } else {
      m.var = running_var.detach().reshape(per_channel);
      m.centered = sub(x, running_mean.detach().reshape(per_channel));
    }
    Tensor y = normalize_with_ops(m, eps);
    if (weight.defined()) y = mul(y, weight.reshape(per_channel));
    if (bias.defined()) y = add(y, bias.reshape(per_channel));
    return y;
  }
  const Tensor xc = x.detach().contiguous();
  const Tensor w = weight.defined() ? weight.detach().contiguous() : Tensor();
  const Tensor b = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor mean = Tensor::empty({channels}, {.dtype = x.dtype()});
  Tensor invstd = Tensor::empty({channels}, {.dtype = x.dtype()});
  Tensor out = Tensor::empty(x.shape(), {.dtype = x.dtype()});
  dispatch_floating(x.dtype(), op, [&]<typename T>() {
    const T* px = xc.data<T>();
    T* pm = mean.data<T>();
    T* pinv = invstd.data<T>();
    if (batch_stats) {
      // Two passes: the one-pass E[x^2] - E[x]^2 cancels catastrophically when the mean is large.
      Tensor sums = zeros({channels + 1}, {.dtype = DType::Float64});
      double* ps = sums.data<double>();
      channel_sums(px, batch, channels, spatial, ps, [](T v, std::int64_t) { return static_cast<double>(v); });
      ps[channels] = count;
      combine(reduce, sums);
      ps = sums.data<double>();
      count = ps[channels];
      check_count(count, x);
      std::vector<double> m(channels);
      for (std::int64_t c = 0; c < channels; ++c) m[c] = ps[c] / count;
      Tensor squares = zeros({channels}, {.dtype = DType::Float64});
      channel_sums(px, batch, channels, spatial, squares.data<double>(), [&m](T v, std::int64_t c) {
        const double d = static_cast<double>(v) - m[c];
        return d * d;
      });
      combine(reduce, squares);
      const double* pq = squares.data<double>();
      for (std::int64_t c = 0; c < channels; ++c) {
        const double var = pq[c] / count;
        pm[c] = static_cast<T>(m[c]);
        pinv[c] = static_cast<T>(1.0 / std::sqrt(var + eps));
        if (update_running) {
          T& rm = running_mean.data<T>()[c * running_mean.strides()[0]];
          T& rv = running_var.data<T>()[c * running_var.strides()[0]];
          rm = static_cast<T>((1 - momentum) * rm + momentum * m[c]);
          rv = static_cast<T>((1 - momentum) * rv + momentum * var * count / (count - 1));
        }
      }
    } else {
      for (std::int64_t c = 0; c < channels; ++c) {
        pm[c] = running_mean.data<T>()[c * running_mean.strides()[0]];
        pinv[c] = static_cast<T>(1.0 / std::sqrt(static_cast<double>(running_var.data<T>()[c * running_var.strides()[0]]) + eps));
      }
    }
    T* py = out.data<T>();
#pragma omp parallel for if (x.numel() > kParallelGrain)
    for (std::int64_t c = 0; c < channels; ++c) {
      const T wc = w.defined() ? w.data<T>()[c] : T(1);
      const T bc = b.defined() ? b.data<T>()[c] : T(0);
      for (std::int64_t n = 0; n < batch; ++n) {
        const std::int64_t base = (n * channels + c) * spatial;
        for (std::int64_t k = 0; k < spatial; ++k)
          py[base + k] = functors::NormalizeAffine{}(px[base + k], pm[c], pinv[c], wc, bc);
      }
    }
  });

  if (autograd::needs_grad({&x, &weight, &bias})) {
    autograd::record(op, out, {x, weight, bias},
                     [xc, w, mean, invstd, batch_stats, spatial, count, reduce, rx = x.requires_grad(),
                      rw = weight.defined() && weight.requires_grad(),
                      rb = bias.defined() && bias.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
      const std::int64_t batch = xc.shape()[0], channels = xc.shape()[1];
      const Tensor gc = g.contiguous();
      Tensor gx = rx ? Tensor::empty(xc.shape(), {.dtype = xc.dtype()}) : Tensor();
      Tensor gw = rw ? Tensor::empty({channels}, {.dtype = xc.dtype()}) : Tensor();
      Tensor gb = rb ? Tensor::empty({channels}, {.dtype = xc.dtype()}) : Tensor();
      dispatch_floating(xc.dtype(), "batch_norm", [&]<typename T>() {
        const T* px = xc.data<T>();
        const T* pg = gc.data<T>();
        const T* pm = mean.data<T>();
        const T* pinv = invstd.data<T>();
        // Per channel: sum(g) is the bias gradient, sum(g * xhat) the weight gradient (both of this process's
        // values: DistributedDataParallel averages parameter gradients itself).
        Tensor sums = zeros({2 * channels}, {.dtype = DType::Float64});
        double* ps = sums.data<double>();
#pragma omp parallel for if (xc.numel() > kParallelGrain)
        for (std::int64_t c = 0; c < channels; ++c) {
          double sum_g = 0, sum_gxhat = 0;
          for (std::int64_t n = 0; n < batch; ++n)
#pragma omp simd reduction(+ : sum_g, sum_gxhat)
            for (std::int64_t k = 0; k < spatial; ++k) {
              const std::int64_t i = (n * channels + c) * spatial + k;
              sum_g += pg[i];
              sum_gxhat += pg[i] * (px[i] - pm[c]) * pinv[c];
            }
          ps[c] = sum_g;
          ps[channels + c] = sum_gxhat;
          if (rw) gw.data<T>()[c] = static_cast<T>(sum_gxhat);
          if (rb) gb.data<T>()[c] = static_cast<T>(sum_g);
        }
        if (!rx) return;
        // With batch statistics the mean and variance depend on every value they were computed from (on every
        // process, with a reducer); with running statistics they are constants.
        if (batch_stats) combine(reduce, sums);
        ps = sums.data<double>();
        T* pgx = gx.data<T>();
#pragma omp parallel for if (xc.numel() > kParallelGrain)
        for (std::int64_t c = 0; c < channels; ++c) {
          const T scale = (w.defined() ? w.data<T>()[c] : T(1)) * pinv[c];
          const T mean_g = batch_stats ? static_cast<T>(ps[c] / count) : T(0);
          const T mean_gxhat = batch_stats ? static_cast<T>(ps[channels + c] / count) : T(0);
          for (std::int64_t n = 0; n < batch; ++n)
            for (std::int64_t k = 0; k < spatial; ++k) {
              const std::int64_t i = (n * channels + c) * spatial + k;
              const T xhat = (px[i] - pm[c]) * pinv[c];
              pgx[i] = functors::NormalizeBackward{}(pg[i], xhat, scale, mean_g, mean_gxhat);
            }
        }
      });
      return {gx, gw, gb};
    });
  }
  return out;
}

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias, double eps) {
  const char* op = "layer_norm";
  check_defined(x, op);
  check_floating(x, op);
  const auto k_dims = static_cast<std::int64_t>(normalized_shape.size());
  const bool trailing = k_dims > 0 && k_dims <= x.dim() &&
                        Shape(x.shape().end() - k_dims, x.shape().end()) == normalized_shape;
  if (!trailing)
    throw std::invalid_argument("layer_norm: normalized_shape " + shape_str(normalized_shape) +
                                " is not the trailing dimensions of input " + describe(x));
  const std::string expected = "normalized_shape " + shape_str(normalized_shape);
  check_param(weight, x, normalized_shape, op, "weight", expected);
  check_param(bias, x, normalized_shape, op, "bias", expected);
  const std::int64_t width = shape_numel(normalized_shape);  // values per normalized row
  const std::int64_t rows = width == 0 ? 0 : x.numel() / width;
  if (x.device().is_cuda()) {
    Shape dims;
    for (std::int64_t d = x.dim() - k_dims; d < x.dim(); ++d) dims.push_back(d);
    Tensor y = normalize_with_ops(moments(x, dims), eps);
    if (weight.defined()) y = mul(y, weight);
    if (bias.defined()) y = add(y, bias);
    return y;
  }

  const Tensor xc = x.detach().contiguous();
  const Tensor w = weight.defined() ? weight.detach().contiguous() : Tensor();
  const Tensor b = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor mean = Tensor::empty({rows}, {.dtype = x.dtype()});
  Tensor invstd = Tensor::empty({rows}, {.dtype = x.dtype()});
  Tensor out = Tensor::empty(x.shape(), {.dtype = x.dtype()});
  dispatch_floating(x.dtype(), op, [&]<typename T>() {
    const T* px = xc.data<T>();
    const T* pw = w.defined() ? w.data<T>() : nullptr;
    const T* pb = b.defined() ? b.data<T>() : nullptr;
    T* py = out.data<T>();
    T* pm = mean.data<T>();
    T* pinv = invstd.data<T>();
#pragma omp parallel for if (x.numel() > kParallelGrain)
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* row = px + r * width;
      double s = 0;
#pragma omp simd reduction(+ : s)
      for (std::int64_t k = 0; k < width; ++k) s += row[k];
      const double m = s / static_cast<double>(width);
      double sq = 0;
#pragma omp simd reduction(+ : sq)
      for (std::int64_t k = 0; k < width; ++k) sq += (row[k] - m) * (row[k] - m);
      pm[r] = static_cast<T>(m);
      pinv[r] = static_cast<T>(1.0 / std::sqrt(sq / static_cast<double>(width) + eps));
      for (std::int64_t k = 0; k < width; ++k)
        py[r * width + k] = functors::NormalizeAffine{}(row[k], pm[r], pinv[r], pw ? pw[k] : T(1), pb ? pb[k] : T(0));
    }
  });

  if (autograd::needs_grad({&x, &weight, &bias})) {
    autograd::record(op, out, {x, weight, bias},
                     [xc, w, mean, invstd, rows, width, normalized_shape, rx = x.requires_grad(), rw = weight.defined() && weight.requires_grad(),
                      rb = bias.defined() && bias.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
      const Tensor gc = g.contiguous();
      Tensor gx = rx ? Tensor::empty(xc.shape(), {.dtype = xc.dtype()}) : Tensor();
      Tensor gw = rw ? Tensor::empty(normalized_shape, {.dtype = xc.dtype()}) : Tensor();
      Tensor gb = rb ? Tensor::empty(normalized_shape, {.dtype = xc.dtype()}) : Tensor();
      dispatch_floating(xc.dtype(), "layer_norm", [&]<typename T>() {
        const T* px = xc.data<T>();
        const T* pg = gc.data<T>();
        const T* pw = w.defined() ? w.data<T>() : nullptr;
        const T* pm = mean.data<T>();
        const T* pinv = invstd.data<T>();
        if (rx) {
          T* pgx = gx.data<T>();
#pragma omp parallel for if (xc.numel() > kParallelGrain)
          for (std::int64_t r = 0; r < rows; ++r) {
            const std::int64_t base = r * width;
            // dxhat = g * w; the statistics of the row depend on every x of the row.
            double sum_d = 0, sum_dxhat = 0;
#pragma omp simd reduction(+ : sum_d, sum_dxhat)
            for (std::int64_t k = 0; k < width; ++k) {
              const double d = pg[base + k] * (pw ? pw[k] : T(1));
              sum_d += d;
              sum_dxhat += d * (px[base + k] - pm[r]) * pinv[r];
            }
            const T mean_d = static_cast<T>(sum_d / static_cast<double>(width));
            const T mean_dxhat = static_cast<T>(sum_dxhat / static_cast<double>(width));
            for (std::int64_t k = 0; k < width; ++k) {
              const T xhat = (px[base + k] - pm[r]) * pinv[r];
              pgx[base + k] = functors::NormalizeBackward{}(pg[base + k] * (pw ? pw[k] : T(1)), xhat, pinv[r], mean_d, mean_dxhat);
            }
          }
        }
        if (rw || rb) {
          // Summed over rows one row at a time: every access is sequential.
          std::vector<double> sum_gxhat(width, 0.0), sum_g(width, 0.0);
          for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t k = 0; k < width; ++k) {
              const T gv = pg[r * width + k];
              sum_gxhat[k] += gv * (px[r * width + k] - pm[r]) * pinv[r];
              sum_g[k] += gv;
            }
          for (std::int64_t k = 0; k < width; ++k) {
            if (rw) gw.data<T>()[k] = static_cast<T>(sum_gxhat[k]);
            if (rb) gb.data<T>()[k] = static_cast<T>(sum_g[k]);
          }
        }
      });
      return {gx, gw, gb};
    });
  }
  return out;
}

}  // namespace lamina
