#pragma once
// The index arithmetic of 2-d convolution as im2col / col2im on raw pointers, compiled by g++ for the CPU and
// callable from CUDA kernels (LAMINA_HD), so both devices share one definition of which input pixel feeds which
// column entry.
//
// The column matrix of one sample has C*kh*kw rows, one per (channel, kernel row, kernel column), and OH*OW
// columns, one per output position: column (oh, ow) of row (c, i, j) holds x[c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]
// (zero where that falls into the padding). Row r of a sample's block starts at col + r * ld: with ld = B*OH*OW,
// B samples sit side by side in one matrix [C*kh*kw, B*OH*OW] that a single GEMM consumes.
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

// Output length along one axis; zero or negative when the (dilated) kernel does not fit the padded input.
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

// Short copies, sums and fills: im2col and col2im are mostly runs of a few elements, too short for a memcpy call to pay.
template <typename T> LAMINA_HD inline void copy_run(T* __restrict__ dst, const T* __restrict__ src, std::int64_t n) {
  for (std::int64_t k = 0; k < n; ++k) dst[k] = src[k];
}

template <typename T> LAMINA_HD inline void add_run(T* __restrict__ dst, const T* __restrict__ src, std::int64_t n) {
  for (std::int64_t k = 0; k < n; ++k) dst[k] += src[k];
}

template <typename T> LAMINA_HD inline void zero_run(T* dst, std::int64_t n) {
  for (std::int64_t k = 0; k < n; ++k) dst[k] = T(0);
}

// Writes the kh*kw rows of channel c. x points at one sample [C, H, W], col at that sample's first column.
template <typename T>
LAMINA_HD void im2col_channel(const ConvGeometry& g, const T* x, T* col, std::int64_t ld, std::int64_t c) {
  const T* plane = x + c * g.height * g.width;
  for (std::int64_t i = 0; i < g.kernel_h; ++i) {
    const std::int64_t h_off = i * g.dilation_h - g.pad_h;
    const ValidRange rh = valid_range(h_off, g.stride_h, g.height, g.out_h);
    for (std::int64_t j = 0; j < g.kernel_w; ++j) {
      const std::int64_t w_off = j * g.dilation_w - g.pad_w;
      const ValidRange rw = valid_range(w_off, g.stride_w, g.width, g.out_w);
      T* dst = col + ((c * g.kernel_h + i) * g.kernel_w + j) * ld;
      // Output rows that read padding only, then per output row: padding, the input run, padding.
      zero_run(dst, rh.lo * g.out_w);
      for (std::int64_t oh = rh.lo; oh < rh.hi; ++oh) {
        const T* src = plane + (oh * g.stride_h + h_off) * g.width;
        T* out = dst + oh * g.out_w;
        zero_run(out, rw.lo);
        if (g.stride_w == 1) {
          copy_run(out + rw.lo, src + rw.lo + w_off, rw.hi - rw.lo);
        } else {
          for (std::int64_t ow = rw.lo; ow < rw.hi; ++ow) out[ow] = src[ow * g.stride_w + w_off];
        }
        zero_run(out + rw.hi, g.out_w - rw.hi);
      }
      zero_run(dst + rh.hi * g.out_w, (g.out_h - rh.hi) * g.out_w);
    }
  }
}

// The adjoint of im2col_channel: overwrites channel c of x (one sample [C, H, W]) with the sum, for every pixel,
// of the column entries that were copied from it. Only channel c's rows touch channel c, so distinct channels or
// samples can run in parallel without atomics.
template <typename T>
LAMINA_HD void col2im_channel(const ConvGeometry& g, const T* col, std::int64_t ld, T* x, std::int64_t c) {
  T* plane = x + c * g.height * g.width;
  zero_run(plane, g.height * g.width);
  for (std::int64_t i = 0; i < g.kernel_h; ++i) {
    const std::int64_t h_off = i * g.dilation_h - g.pad_h;
    const ValidRange rh = valid_range(h_off, g.stride_h, g.height, g.out_h);
    for (std::int64_t j = 0; j < g.kernel_w; ++j) {
      const std::int64_t w_off = j * g.dilation_w - g.pad_w;
      const ValidRange rw = valid_range(w_off, g.stride_w, g.width, g.out_w);
      const T* src = col + ((c * g.kernel_h + i) * g.kernel_w + j) * ld;
      for (std::int64_t oh = rh.lo; oh < rh.hi; ++oh) {
        T* dst = plane + (oh * g.stride_h + h_off) * g.width;
        const T* row = src + oh * g.out_w;
        if (g.stride_w == 1) {
          add_run(dst + rw.lo + w_off, row + rw.lo, rw.hi - rw.lo);
        } else {
          for (std::int64_t ow = rw.lo; ow < rw.hi; ++ow) dst[ow * g.stride_w + w_off] += row[ow];
        }
      }
    }
  }
}

}  // namespace lamina::kernels
