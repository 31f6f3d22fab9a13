#pragma once
// The index arithmetic of the ops that read or write through computed positions — index_select, gather and
// adaptive average pooling — callable from the CUDA kernels (LAMINA_HD) and compiled by g++ for the CPU paths, so
// both devices share one definition of which element goes where: index_select's and gather's CPU loops run these
// very functions, adaptive pooling's CPU path takes its windows from adaptive_window (and scatters over them; the
// tests check the per-element forms against that).
#include <cstdint>

#include <lamina/core/broadcast.h>

namespace lamina::kernels {

// index_select along a dimension of size n, the input seen as [outer, n, inner]: row p = (o, j) of the output
// [outer, k, inner] (k = the index's length; rows of `inner` elements) is input row o*n + index[j].
LAMINA_HD inline std::int64_t index_select_source_row(std::int64_t p, const std::int64_t* index, std::int64_t k,
                                                      std::int64_t n) {
  return p / k * n + index[p % k];
}

// gather along dimension d: element p of the output (the index's shape, row-major) reads the input at
// base(p) + index[p] * stride, where `base` walks the input with p's coordinates and stride 0 along d, and `stride`
// is the input's stride along d.
struct GatherGeometry {
  OffsetCalculator base;
  std::int64_t stride;

  LAMINA_HD std::int64_t source(const std::int64_t* index, std::int64_t p) const { return base(p) + index[p] * stride; }
};

// Adaptive pooling of `in` positions to `out` along one axis: window o is [floor(o*in/out), ceil((o+1)*in/out)),
// PyTorch's. Neighbouring windows overlap when out does not divide in.
struct Span {
  std::int64_t start, end;
};

LAMINA_HD inline Span adaptive_window(std::int64_t o, std::int64_t in, std::int64_t out) {
  return {o * in / out, ((o + 1) * in + out - 1) / out};
}

// The outputs whose windows hold input position i: [floor(i*out/in), ceil((i+1)*out/in)), the window formula with
// in and out swapped (window o starts at or before i iff o < (i+1)*out/in, and ends after i iff o >= floor(i*out/in)).
LAMINA_HD inline Span adaptive_windows_holding(std::int64_t i, std::int64_t in, std::int64_t out) {
  return adaptive_window(i, out, in);
}

// Adaptive average pooling of planes [planes, height, width] to [planes, out_h, out_w], both contiguous.
struct AdaptivePoolGeometry {
  std::int64_t height, width, out_h, out_w;
};

// Output element k: the mean of its window.
template <typename T>
LAMINA_HD T adaptive_avg_pool_element(const AdaptivePoolGeometry& g, const T* x, std::int64_t k) {
  const std::int64_t plane = k / (g.out_h * g.out_w), oh = k / g.out_w % g.out_h, ow = k % g.out_w;
  const Span rows = adaptive_window(oh, g.height, g.out_h), cols = adaptive_window(ow, g.width, g.out_w);
  const T* src = x + plane * g.height * g.width;
  T s = 0;
  for (std::int64_t h = rows.start; h < rows.end; ++h)
    for (std::int64_t w = cols.start; w < cols.end; ++w) s += src[h * g.width + w];
  return s / static_cast<T>((rows.end - rows.start) * (cols.end - cols.start));
}

// Input-gradient element k: the shares of the gradients of the outputs whose windows hold it. Each element is
// written once (a gather, no atomics), the shares added in the order of the outputs.
template <typename T>
LAMINA_HD T adaptive_avg_pool_backward_element(const AdaptivePoolGeometry& g, const T* grad_out, std::int64_t k) {
  const std::int64_t plane = k / (g.height * g.width), h = k / g.width % g.height, w = k % g.width;
  const Span rows = adaptive_windows_holding(h, g.height, g.out_h), cols = adaptive_windows_holding(w, g.width, g.out_w);
  const T* src = grad_out + plane * g.out_h * g.out_w;
  T s = 0;
  for (std::int64_t oh = rows.start; oh < rows.end; ++oh) {
    const Span wh = adaptive_window(oh, g.height, g.out_h);
    for (std::int64_t ow = cols.start; ow < cols.end; ++ow) {
      const Span ww = adaptive_window(ow, g.width, g.out_w);
      s += src[oh * g.out_w + ow] / static_cast<T>((wh.end - wh.start) * (ww.end - ww.start));
    }
  }
  return s;
}

}  // namespace lamina::kernels
