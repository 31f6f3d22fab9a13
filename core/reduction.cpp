#include <lamina/core/reduction.h>

#include <algorithm>
#include <stdexcept>

#include <lamina/core/autograd.h>
#include <lamina/core/checks.h>
#include <lamina/core/cuda_kernels.h>
#include <lamina/core/elementwise.h>
#include <lamina/core/parallel.h>

namespace lamina {
namespace {

// Float sums accumulate in double: a long float32 sum otherwise loses digits the gradient checks notice.
template <typename T> using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;

struct ReducePlan {
  Shape kept_shape;  // output shape with keepdim=true
  Tensor source;     // the input laid out as [outer, reduce, inner], contiguous
  std::int64_t outer = 1, reduce = 1, inner = 1;
};

// Brings the reduced dimensions of `x` into one contiguous block [outer, reduce, inner] — without a copy when
// they already form one block of a contiguous tensor (the common cases: all dims, leading dims, trailing dims).
ReducePlan plan_reduction(const Tensor& x, const Shape& dims, const char* op) {
  std::vector<bool> reduced(x.dim(), false);
  for (std::int64_t d : dims) {
    const std::int64_t w = wrap_dim(d, x.dim(), op);
    if (reduced[w]) throw std::invalid_argument(std::string(op) + ": dimension " + std::to_string(d) + " listed twice");
    reduced[w] = true;
  }
  ReducePlan plan;
  plan.kept_shape = x.shape();
  for (std::int64_t d = 0; d < x.dim(); ++d)
    if (reduced[d]) plan.kept_shape[d] = 1;
  std::int64_t first = x.dim(), last = -1;
  for (std::int64_t d = 0; d < x.dim(); ++d)
    if (reduced[d]) { first = std::min(first, d); last = d; }
  bool one_block = true;
  for (std::int64_t d = first; d <= last; ++d) one_block = one_block && reduced[d];
  if (first > last) one_block = true;  // nothing reduced
  if (one_block) {
    plan.source = x.contiguous();
    for (std::int64_t d = 0; d < x.dim(); ++d) {
      if (d < first) plan.outer *= x.shape()[d];
      else if (d <= last) plan.reduce *= x.shape()[d];
      else plan.inner *= x.shape()[d];
    }
    return plan;
  }
  Shape order;
  for (std::int64_t d = 0; d < x.dim(); ++d) if (!reduced[d]) { order.push_back(d); plan.outer *= x.shape()[d]; }
  for (std::int64_t d = 0; d < x.dim(); ++d) if (reduced[d]) { order.push_back(d); plan.reduce *= x.shape()[d]; }
  plan.source = x.detach().permute(order).contiguous();
  return plan;
}

Shape drop_reduced(const Shape& kept, const Tensor& x, const Shape& dims, bool keepdim) {
  if (keepdim) return kept;
  std::vector<bool> reduced(x.dim(), false);
  for (std::int64_t d : dims) reduced[wrap_dim(d, x.dim(), "reduce")] = true;
  Shape out;
  for (std::int64_t d = 0; d < x.dim(); ++d) if (!reduced[d]) out.push_back(x.shape()[d]);
  return out;
}

Shape all_dims(const Tensor& x) {
  Shape dims(x.dim());
  for (std::int64_t d = 0; d < x.dim(); ++d) dims[d] = d;
  return dims;
}

Tensor sum_impl(const Tensor& x, const Shape& dims, bool keepdim) {
  check_defined(x, "sum");
  const ReducePlan p = plan_reduction(x.detach(), dims, "sum");
  Tensor out = Tensor::empty(drop_reduced(p.kept_shape, x, dims, keepdim), {.dtype = x.dtype(), .device = x.device()});
  if (x.device().is_cuda()) {
    cuda_kernel(&CudaKernels::sum, x, "sum")(p.source, out, p.outer, p.reduce, p.inner);
    return out;
  }
  dispatch(x.dtype(), [&]<typename T>() {
    const T* src = p.source.data<T>();
    T* dst = out.data<T>();
    if (p.inner == 1) {
#pragma omp parallel for if (p.outer * p.reduce > kParallelGrain && p.outer > 1)
      for (std::int64_t o = 0; o < p.outer; ++o) {
        Acc<T> acc = 0;
        const T* row = src + o * p.reduce;
        for (std::int64_t r = 0; r < p.reduce; ++r) acc += row[r];
        dst[o] = static_cast<T>(acc);
      }
      return;
    }
#pragma omp parallel for if (p.outer * p.reduce * p.inner > kParallelGrain)
    for (std::int64_t o = 0; o < p.outer; ++o) {
      std::vector<Acc<T>> acc(p.inner, Acc<T>(0));
      for (std::int64_t r = 0; r < p.reduce; ++r) {
        const T* row = src + (o * p.reduce + r) * p.inner;
        for (std::int64_t i = 0; i < p.inner; ++i) acc[i] += row[i];
      }
      for (std::int64_t i = 0; i < p.inner; ++i) dst[o * p.inner + i] = static_cast<T>(acc[i]);
    }
  });
  return out;
}

// Values and (flat, within the reduced block) indices of the maximum over [outer, reduce, 1] after planning.
void max_impl(const Tensor& x, const Shape& dims, bool keepdim, Tensor* values, Tensor* indices, const char* op) {
  check_defined(x, op);
  if (x.numel() == 0) throw std::invalid_argument(std::string(op) + ": reduction of an empty tensor " + describe(x));
  // Move the one reduced dim last so every reduction is over a contiguous row.
  ReducePlan p;
  if (dims.size() == 1 && x.dim() > 0) {
    const std::int64_t d = wrap_dim(dims[0], x.dim(), op);
    Shape order;
    for (std::int64_t k = 0; k < x.dim(); ++k) if (k != d) order.push_back(k);
    order.push_back(d);
    p.source = x.detach().permute(order).contiguous();
    p.kept_shape = x.shape();
    p.kept_shape[d] = 1;
    p.reduce = x.shape()[d];
    p.outer = x.numel() / p.reduce;
  } else {
    p = plan_reduction(x.detach(), dims, op);
    p.outer *= p.inner;  // dims is all dims here, so inner == 1
  }
  const Shape out_shape = drop_reduced(p.kept_shape, x, dims, keepdim);
  if (values) *values = Tensor::empty(out_shape, {.dtype = x.dtype(), .device = x.device()});
  if (indices) *indices = Tensor::empty(out_shape, {.dtype = DType::Int64, .device = x.device()});
  if (x.device().is_cuda()) {
    cuda_kernel(&CudaKernels::max, x, op)(p.source, values ? *values : Tensor(), indices ? *indices : Tensor(), p.outer, p.reduce);
    return;
  }
  dispatch(x.dtype(), [&]<typename T>() {
    const T* src = p.source.data<T>();
    for (std::int64_t o = 0; o < p.outer; ++o) {
      const T* row = src + o * p.reduce;
      std::int64_t best = 0;
      for (std::int64_t r = 1; r < p.reduce; ++r)
        if (row[r] > row[best]) best = r;
      if (values) values->data<T>()[o] = row[best];
      if (indices) indices->data<std::int64_t>()[o] = best;
    }
  });
}

}  // namespace

Tensor sum(const Tensor& x) { return sum(x, all_dims(x), false); }

Tensor sum(const Tensor& x, const Shape& dims, bool keepdim) {
  Tensor out = sum_impl(x, dims, keepdim);
  if (autograd::needs_grad({&x})) {
    autograd::record("sum", out, {x}, [in_shape = x.shape(), dims, x_dim = x.dim()](const Tensor& g) -> std::vector<Tensor> {
      Shape kept_shape = in_shape;
      for (std::int64_t d : dims) kept_shape[d < 0 ? d + x_dim : d] = 1;
      return {g.reshape(kept_shape).expand(in_shape).contiguous()};
    });
  }
  return out;
}

Tensor mean(const Tensor& x) { return mean(x, all_dims(x), false); }

Tensor mean(const Tensor& x, const Shape& dims, bool keepdim) {
  check_defined(x, "mean");
  check_floating(x, "mean");
  std::int64_t count = 1;
  for (std::int64_t d : dims) count *= x.shape()[wrap_dim(d, x.dim(), "mean")];
  return div(sum(x, dims, keepdim), static_cast<double>(count));
}

Tensor max(const Tensor& x) {
  Tensor flat = x.reshape({x.numel()});
  return max(flat, 0, false);
}

Tensor max(const Tensor& x, std::int64_t dim, bool keepdim) {
  Tensor values, indices;
  max_impl(x, {dim}, keepdim, &values, &indices, "max");
  if (autograd::needs_grad({&x})) {
    const std::int64_t d = wrap_dim(dim, x.dim(), "max");
    autograd::record("max", values, {x}, [indices, in_shape = x.shape(), d](const Tensor& g) -> std::vector<Tensor> {
      // Scatter g into the positions of the maxima.
      Shape kept = in_shape;
      kept[d] = 1;
      const Tensor gk = g.reshape(kept).contiguous();
      const Tensor ik = indices.reshape(kept).contiguous();
      Tensor grad = zeros(in_shape, {.dtype = g.dtype(), .device = g.device()});
      std::int64_t outer = 1, inner = 1;
      for (std::int64_t k = 0; k < d; ++k) outer *= in_shape[k];
      for (std::size_t k = d + 1; k < in_shape.size(); ++k) inner *= in_shape[k];
      const std::int64_t n = in_shape[d];
      if (g.device().is_cuda()) {
        cuda_kernel(&CudaKernels::max_backward, g, "max_backward")(gk, ik, grad, outer, n, inner);
        return {grad};
      }
      dispatch(g.dtype(), [&]<typename T>() {
        const T* pg = gk.data<T>();
        const std::int64_t* pi = ik.data<std::int64_t>();
        T* out = grad.data<T>();
        for (std::int64_t o = 0; o < outer; ++o)
          for (std::int64_t i = 0; i < inner; ++i)
            out[(o * n + pi[o * inner + i]) * inner + i] = pg[o * inner + i];
      });
      return {grad};
    });
  }
  return values;
}

Tensor argmax(const Tensor& x) { return argmax(x.reshape({x.numel()}), 0, false); }

Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim) {
  Tensor indices;
  max_impl(x.detach(), {dim}, keepdim, nullptr, &indices, "argmax");
  return indices;
}

// Tensor's method forms.
Tensor Tensor::sum() const { return lamina::sum(*this); }
Tensor Tensor::sum(const Shape& dims, bool keepdim) const { return lamina::sum(*this, dims, keepdim); }
Tensor Tensor::mean() const { return lamina::mean(*this); }
Tensor Tensor::mean(const Shape& dims, bool keepdim) const { return lamina::mean(*this, dims, keepdim); }
Tensor Tensor::max() const { return lamina::max(*this); }
Tensor Tensor::max(std::int64_t dim, bool keepdim) const { return lamina::max(*this, dim, keepdim); }
Tensor Tensor::argmax() const { return lamina::argmax(*this); }
Tensor Tensor::argmax(std::int64_t dim, bool keepdim) const { return lamina::argmax(*this, dim, keepdim); }

}  // namespace lamina
