#include <lamina/core/direct_conv.h>

#include <algorithm>

#include <lamina/core/simd.h>

namespace lamina::cpu {
namespace {

using simd::kLanes;
using simd::load;
using simd::store;
using simd::Vec;

// Output channels o0 .. o0 + OB of NV consecutive vectors of the plane from q. The OB x NV accumulators stay in
// registers across all taps; a tap costs NV shifted loads of x and OB x NV multiply-adds, each weight loaded
// once and used NV times.
template <typename T, int OB, int NV>
LAMINA_INLINE void forward_block(const FlatConv& s, const T* x, const T* w, T* out, std::int64_t o0, std::int64_t q) {
  constexpr std::int64_t L = kLanes<T>;
  const std::int64_t in_plane = s.in_plane();
  Vec<T> acc[OB][NV] = {};
  const T* wt = w + o0;
  for (std::int64_t c = 0; c < s.in_channels; ++c)
    for (std::int64_t i = 0; i < s.kernel_h; ++i) {
      const T* row = x + c * in_plane + i * s.width + q;
      for (std::int64_t j = 0; j < s.kernel_w; ++j, wt += s.out_channels) {
        Vec<T> xv[NV];
        for (int v = 0; v < NV; ++v) xv[v] = load(row + j + v * L);
        for (int ob = 0; ob < OB; ++ob) {
          const T weight = wt[ob];
          for (int v = 0; v < NV; ++v) acc[ob][v] += weight * xv[v];
        }
      }
    }
  for (int ob = 0; ob < OB; ++ob)
    for (int v = 0; v < NV; ++v) store(out + (o0 + ob) * s.out_plane() + q + v * L, acc[ob][v]);
}

template <typename T, int OB>
LAMINA_INLINE void forward_channels(const FlatConv& s, const T* x, const T* w, T* out, std::int64_t o0) {
  constexpr std::int64_t L = kLanes<T>;
  const std::int64_t out_plane = s.out_plane();
  std::int64_t q = 0;
  for (; q + 2 * L <= out_plane; q += 2 * L) forward_block<T, OB, 2>(s, x, w, out, o0, q);
  if (q < out_plane) forward_block<T, OB, 1>(s, x, w, out, o0, q);
}

template <typename T>
LAMINA_INLINE void forward(const FlatConv& s, const T* x, const T* w, T* out) {
  // 8 x 2 accumulators and 2 loads: 18 of AVX-512's 32 registers.
  constexpr std::int64_t kBlock = 8;
  for (std::int64_t o0 = 0; o0 < s.out_channels; o0 += kBlock) {
    switch (std::min(kBlock, s.out_channels - o0)) {
      case 1: forward_channels<T, 1>(s, x, w, out, o0); break;
      case 2: forward_channels<T, 2>(s, x, w, out, o0); break;
      case 3: forward_channels<T, 3>(s, x, w, out, o0); break;
      case 4: forward_channels<T, 4>(s, x, w, out, o0); break;
      case 5: forward_channels<T, 5>(s, x, w, out, o0); break;
      case 6: forward_channels<T, 6>(s, x, w, out, o0); break;
      case 7: forward_channels<T, 7>(s, x, w, out, o0); break;
      default: forward_channels<T, 8>(s, x, w, out, o0); break;
    }
  }
}

// The weight gradient of TO output channels (from o0) and TJ kernel columns (from j0) of kernel row i of
// input channel c, over `samples` samples: TO x TJ accumulators in registers over all their planes, then added
// to acc. Per vector of q: TO loads of g, TJ shifted loads of x, TO x TJ multiply-adds.
template <typename T, int TO, int TJ>
LAMINA_INLINE void weight_grad_tile(const FlatConv& s, const T* x, const T* g, std::int64_t samples, T* acc, std::int64_t c,
                                    std::int64_t i, std::int64_t o0, std::int64_t j0) {
  constexpr std::int64_t L = kLanes<T>;
  const std::int64_t out_plane = s.out_plane(), x_sample = s.in_channels * s.in_plane(), g_sample = s.out_channels * out_plane;
  Vec<T> sum[TO][TJ] = {};
  for (std::int64_t b = 0; b < samples; ++b) {
    const T* row = x + b * x_sample + c * s.in_plane() + i * s.width + j0;
    const T* grad = g + b * g_sample + o0 * out_plane;
    for (std::int64_t q = 0; q < out_plane; q += L) {
      Vec<T> gv[TO], xv[TJ];
      for (int to = 0; to < TO; ++to) gv[to] = load(grad + to * out_plane + q);
      for (int tj = 0; tj < TJ; ++tj) xv[tj] = load(row + q + tj);
      for (int to = 0; to < TO; ++to)
        for (int tj = 0; tj < TJ; ++tj) sum[to][tj] += gv[to] * xv[tj];
    }
  }
  const std::int64_t weights = s.taps();
  for (int to = 0; to < TO; ++to)
    for (int tj = 0; tj < TJ; ++tj) {
      T* a = acc + (((o0 + to) * weights + (c * s.kernel_h + i) * s.kernel_w + j0 + tj) * L);
      store(a, load(a) + sum[to][tj]);
    }
}

template <typename T, int TO>
LAMINA_INLINE void weight_grad_columns(const FlatConv& s, const T* x, const T* g, std::int64_t samples, T* acc,
                                       std::int64_t c, std::int64_t i, std::int64_t o0) {
  constexpr std::int64_t kBlock = 5;
  for (std::int64_t j0 = 0; j0 < s.kernel_w; j0 += kBlock) {
    switch (std::min(kBlock, s.kernel_w - j0)) {
      case 1: weight_grad_tile<T, TO, 1>(s, x, g, samples, acc, c, i, o0, j0); break;
      case 2: weight_grad_tile<T, TO, 2>(s, x, g, samples, acc, c, i, o0, j0); break;
      case 3: weight_grad_tile<T, TO, 3>(s, x, g, samples, acc, c, i, o0, j0); break;
      case 4: weight_grad_tile<T, TO, 4>(s, x, g, samples, acc, c, i, o0, j0); break;
      default: weight_grad_tile<T, TO, 5>(s, x, g, samples, acc, c, i, o0, j0); break;
    }
  }
}

template <typename T>
LAMINA_INLINE void weight_grad(const FlatConv& s, const T* x, const T* g, std::int64_t samples, T* acc) {
  // 4 x 5 accumulators, 4 + 5 loads: 29 of AVX-512's 32 registers.
  constexpr std::int64_t kBlock = 4;
  for (std::int64_t c = 0; c < s.in_channels; ++c)
    for (std::int64_t i = 0; i < s.kernel_h; ++i)
      for (std::int64_t o0 = 0; o0 < s.out_channels; o0 += kBlock) {
        switch (std::min(kBlock, s.out_channels - o0)) {
          case 1: weight_grad_columns<T, 1>(s, x, g, samples, acc, c, i, o0); break;
          case 2: weight_grad_columns<T, 2>(s, x, g, samples, acc, c, i, o0); break;
          case 3: weight_grad_columns<T, 3>(s, x, g, samples, acc, c, i, o0); break;
          default: weight_grad_columns<T, 4>(s, x, g, samples, acc, c, i, o0); break;
        }
      }
}

}  // namespace

LAMINA_CPU_CLONES void flat_conv_forward(const FlatConv& s, const float* x, const float* w, float* out) { forward(s, x, w, out); }
LAMINA_CPU_CLONES void flat_conv_forward(const FlatConv& s, const double* x, const double* w, double* out) { forward(s, x, w, out); }
LAMINA_CPU_CLONES void flat_conv_weight_grad(const FlatConv& s, const float* x, const float* g, std::int64_t samples, float* acc) {
  weight_grad(s, x, g, samples, acc);
}
LAMINA_CPU_CLONES void flat_conv_weight_grad(const FlatConv& s, const double* x, const double* g, std::int64_t samples, double* acc) {
  weight_grad(s, x, g, samples, acc);
}

}  // namespace lamina::cpu
