#pragma once
// The index arithmetic of 2-d convolution as im2col / col2im on raw pointers, compiled by g++ for the CPU and
// callable from CUDA kernels (LAMINA_HD), so both devices share one definition of which input pixel feeds which
// column entry.
//
// The functions work on a block of B samples stored batch-innermost: x is [C, H, W, B]. The column matrix has
// C*kh*kw rows, one per (channel, kernel row, kernel column), and OH*OW*B columns, one per (output row, output
// column, sample): entry ((c, i, j), (oh, ow, b)) holds x[c, oh*sh - ph + i*dh, ow*sw - pw + j*dw, b], zero where
// that falls into the padding. Keeping the batch innermost makes every copy a run of (output columns) * B
// elements rather than a run of a few output columns (a 10x10 output copies 1500 runs of 10 per sample
// otherwise, and the time goes into starting runs). B = 1 is the usual per-sample im2col.
#include <cstdint>

#include <lamina/core/functors.h>

namespace lamina::kernels {

struct ConvGeometry {
  std::int64_t channels, height, width;
  std::int64_t kernel_h, kernel_w;
  std::int64_t stride_h, stride_w;
  std::int64_t pad_h, pad_w;
  std::int64_t dilation_h, dilation_w;
  std::int64_t out_h, out_w;
};

// Output length along one axis; zero when the (dilated) kernel does not fit the padded input.
LAMINA_HD inline std::int64_t conv_out_size(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t pad,
                                            std::int64_t dilation) {
  const std::int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

// The outputs o in [lo, hi) read an input index o*stride + offset inside [0, size); the others read padding.
struct ValidRange {
  std::int64_t lo, hi;
};

LAMINA_HD inline ValidRange valid_range(std::int64_t offset, std::int64_t stride, std::int64_t size, std::int64_t out) {
  std::int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  std::int64_t hi = size - offset <= 0 ? 0 : (size - offset + stride - 1) / stride;
  hi = hi < out ? hi : out;
  lo = lo < hi ? lo : hi;
  return {lo, hi};
}

template <typename T> LAMINA_HD inline void copy_run(T* __restrict__ dst, const T* __restrict__ src, std::int64_t n) {
  for (std::int64_t k = 0; k < n; ++k) dst[k] = src[k];
}

template <typename T> LAMINA_HD inline void add_run(T* __restrict__ dst, const T* __restrict__ src, std::int64_t n) {
  for (std::int64_t k = 0; k < n; ++k) dst[k] += src[k];
}

template <typename T> LAMINA_HD inline void zero_run(T* dst, std::int64_t n) {
  for (std::int64_t k = 0; k < n; ++k) dst[k] = T(0);
}

// Writes row r = (c, i, j) of the column matrix of `batch` samples; x is [C, H, W, batch].
template <typename T>
LAMINA_HD void im2col_row(const ConvGeometry& g, std::int64_t batch, const T* x, T* row, std::int64_t r) {
  const std::int64_t c = r / (g.kernel_h * g.kernel_w), i = r / g.kernel_w % g.kernel_h, j = r % g.kernel_w;
  const std::int64_t h_off = i * g.dilation_h - g.pad_h, w_off = j * g.dilation_w - g.pad_w;
  const ValidRange rh = valid_range(h_off, g.stride_h, g.height, g.out_h);
  const ValidRange rw = valid_range(w_off, g.stride_w, g.width, g.out_w);
  const std::int64_t in_row = g.width * batch, out_row = g.out_w * batch;
  const T* plane = x + c * g.height * in_row;
  // Output rows that read only padding, then per output row: padding, the input run, padding.
  zero_run(row, rh.lo * out_row);
  for (std::int64_t oh = rh.lo; oh < rh.hi; ++oh) {
    const T* src = plane + (oh * g.stride_h + h_off) * in_row;
    T* dst = row + oh * out_row;
    zero_run(dst, rw.lo * batch);
    if (g.stride_w == 1) {
      copy_run(dst + rw.lo * batch, src + (rw.lo + w_off) * batch, (rw.hi - rw.lo) * batch);
    } else {
      for (std::int64_t ow = rw.lo; ow < rw.hi; ++ow) copy_run(dst + ow * batch, src + (ow * g.stride_w + w_off) * batch, batch);
    }
    zero_run(dst + rw.hi * batch, (g.out_w - rw.hi) * batch);
  }
  zero_run(row + rh.hi * out_row, (g.out_h - rh.hi) * out_row);
}

// The adjoint of im2col_row over the kh*kw rows of channel c: overwrites channel c of x ([C, H, W, batch]) with
// the sum, for every pixel, of the column entries that were copied from it. Only channel c's rows touch channel
// c, so distinct channels can run in parallel without atomics.
template <typename T>
LAMINA_HD void col2im_channel(const ConvGeometry& g, std::int64_t batch, const T* col, std::int64_t ld, T* x, std::int64_t c) {
  const std::int64_t in_row = g.width * batch, out_row = g.out_w * batch;
  T* plane = x + c * g.height * in_row;
  zero_run(plane, g.height * in_row);
  for (std::int64_t i = 0; i < g.kernel_h; ++i) {
    const std::int64_t h_off = i * g.dilation_h - g.pad_h;
    const ValidRange rh = valid_range(h_off, g.stride_h, g.height, g.out_h);
    for (std::int64_t j = 0; j < g.kernel_w; ++j) {
      const std::int64_t w_off = j * g.dilation_w - g.pad_w;
      const ValidRange rw = valid_range(w_off, g.stride_w, g.width, g.out_w);
      const T* row = col + ((c * g.kernel_h + i) * g.kernel_w + j) * ld;
      for (std::int64_t oh = rh.lo; oh < rh.hi; ++oh) {
        T* dst = plane + (oh * g.stride_h + h_off) * in_row;
        const T* src = row + oh * out_row;
        if (g.stride_w == 1) {
          add_run(dst + (rw.lo + w_off) * batch, src + rw.lo * batch, (rw.hi - rw.lo) * batch);
        } else {
          for (std::int64_t ow = rw.lo; ow < rw.hi; ++ow) add_run(dst + (ow * g.stride_w + w_off) * batch, src + ow * batch, batch);
        }
      }
    }
  }
}

// The same two maps one element at a time, for a GPU thread each (the row functions above are the CPU's, and the
// tests check that both agree).
// Entry k of the column matrix (row-major, OH*OW*batch columns): its input value, or `pad` where it reads padding.
template <typename T>
LAMINA_HD T im2col_element(const ConvGeometry& g, std::int64_t batch, const T* x, std::int64_t k, T pad) {
  const std::int64_t columns = g.out_h * g.out_w * batch;
  const std::int64_t r = k / columns, col = k % columns;
  const std::int64_t c = r / (g.kernel_h * g.kernel_w), i = r / g.kernel_w % g.kernel_h, j = r % g.kernel_w;
  const std::int64_t oh = col / (g.out_w * batch), ow = col / batch % g.out_w, b = col % batch;
  const std::int64_t h = oh * g.stride_h - g.pad_h + i * g.dilation_h, w = ow * g.stride_w - g.pad_w + j * g.dilation_w;
  if (h < 0 || h >= g.height || w < 0 || w >= g.width) return pad;
  return x[((c * g.height + h) * g.width + w) * batch + b];
}

// Element k of x ([C, H, W, batch]) after col2im: the sum of the column entries (leading dimension ld) copied
// from it.
template <typename T>
LAMINA_HD T col2im_element(const ConvGeometry& g, std::int64_t batch, const T* col, std::int64_t ld, std::int64_t k) {
  const std::int64_t b = k % batch, w = k / batch % g.width, h = k / (batch * g.width) % g.height;
  const std::int64_t c = k / (batch * g.width * g.height);
  T sum = T(0);
  for (std::int64_t i = 0; i < g.kernel_h; ++i) {
    const std::int64_t hs = h + g.pad_h - i * g.dilation_h;  // = oh * stride_h for the output row that reads h
    if (hs < 0 || hs % g.stride_h != 0 || hs / g.stride_h >= g.out_h) continue;
    for (std::int64_t j = 0; j < g.kernel_w; ++j) {
      const std::int64_t ws = w + g.pad_w - j * g.dilation_w;
      if (ws < 0 || ws % g.stride_w != 0 || ws / g.stride_w >= g.out_w) continue;
      const std::int64_t row = (c * g.kernel_h + i) * g.kernel_w + j;
      sum += col[row * ld + ((hs / g.stride_h) * g.out_w + ws / g.stride_w) * batch + b];
    }
  }
  return sum;
}

}  // namespace lamina::kernels
