#pragma once
// The CPU loops behind elementwise ops: apply a functor from functors.h over one or two (broadcast, strided)
// inputs into a new contiguous output. Contiguous operands take a flat loop the compiler vectorizes.
#include <cstdint>

#include <lamina/core/broadcast.h>
#include <lamina/core/parallel.h>
#include <lamina/core/tensor.h>

namespace lamina::cpu {

template <typename T, typename F>
void map_unary(const Tensor& in, const Tensor& out, F f) {
  const std::int64_t n = out.numel();
  T* y = out.data<T>();
  const T* x = in.data<T>();
  if (in.is_contiguous()) {
#pragma omp parallel for simd if (n > kParallelGrain)
    for (std::int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
    return;
  }
  const OffsetCalculator offset = make_offset_calculator(in.shape(), in.strides());
#pragma omp parallel for if (n > kParallelGrain)
  for (std::int64_t i = 0; i < n; ++i) y[i] = f(x[offset(i)]);
}

template <typename T, typename F>
void map_binary(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  const std::int64_t n = out.numel();
  T* y = out.data<T>();
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  const bool same_shape = a.shape() == out.shape() && b.shape() == out.shape();
  if (same_shape && a.is_contiguous() && b.is_contiguous()) {
#pragma omp parallel for simd if (n > kParallelGrain)
    for (std::int64_t i = 0; i < n; ++i) y[i] = f(pa[i], pb[i]);
    return;
  }
  if (b.numel() == 1) {
    const T s = pb[0];
    if (a.shape() == out.shape() && a.is_contiguous()) {
#pragma omp parallel for simd if (n > kParallelGrain)
      for (std::int64_t i = 0; i < n; ++i) y[i] = f(pa[i], s);
      return;
    }
  }
  // General case: walk the output row by row; inside a row each operand advances by its own stride.
  const Shape& shape = out.shape();
  const Shape sa = broadcast_strides(a, shape);
  const Shape sb = broadcast_strides(b, shape);
  const std::int64_t inner = shape.empty() ? 1 : shape.back();
  const std::int64_t ia = shape.empty() ? 0 : sa.back();
  const std::int64_t ib = shape.empty() ? 0 : sb.back();
  const std::int64_t rows = inner == 0 ? 0 : n / inner;
  Shape outer_shape(shape.begin(), shape.end() - (shape.empty() ? 0 : 1));
  const OffsetCalculator oa = make_offset_calculator(outer_shape, Shape(sa.begin(), sa.begin() + outer_shape.size()));
  const OffsetCalculator ob = make_offset_calculator(outer_shape, Shape(sb.begin(), sb.begin() + outer_shape.size()));
#pragma omp parallel for if (n > kParallelGrain)
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* ra = pa + oa(r);
    const T* rb = pb + ob(r);
    T* ry = y + r * inner;
    for (std::int64_t i = 0; i < inner; ++i) ry[i] = f(ra[i * ia], rb[i * ib]);
  }
}

}  // namespace lamina::cpu
