#pragma once
// Direct convolution kernels for few channels (LeNet's 1->6 and 6->16 5x5 layers), where im2col + GEMM is a
// product too small or too thin to run well (conv1: K = 25 and 6 output rows). Internal to core; conv.cpp decides
// when to use them.
//
// They compute a stride-1, undilated cross-correlation of one sample on "flat planes": each input channel is
// an already padded plane of `width` columns stored row after row, and output position (oh, ow) is flat index
// q = oh * width + ow of an output plane with the same row pitch. Then every tap (c, i, j) reads the input at
// q + i * width + j for all q at once, so one vector of consecutive q is one shifted load, whatever the image
// width: the kernels vectorize over q. The price is width - out_w junk columns per output row (computed and
// ignored), and planes padded at the end so that the last vector stays inside.
#include <cstdint>

namespace lamina::cpu {

struct FlatConv {
  std::int64_t in_channels, out_channels, kernel_h, kernel_w;
  std::int64_t width;         // columns of the (padded) input plane, and the row pitch of the output plane
  std::int64_t out_h, out_w;  // out_w = width - kernel_w + 1; the input has out_h + kernel_h - 1 rows
  std::int64_t lanes;         // elements of one vector: 64 bytes / the element size

  // Elements per output plane: out_h rows of `width`, rounded up to whole vectors.
  std::int64_t out_plane() const { return (out_h * width + lanes - 1) / lanes * lanes; }
  // Elements per input plane: what the last output vector's last tap reads, past the input's rows (zeros).
  std::int64_t in_plane() const { return out_plane() + (kernel_h - 1) * width + kernel_w - 1; }
  std::int64_t taps() const { return in_channels * kernel_h * kernel_w; }
};

// out [O, out_plane] = the correlation of x [C, in_plane] with the weights, packed tap-major: w[t * O + o] is
// weight (o, c, i, j) for tap t = (c * kh + i) * kw + j.
void flat_conv_forward(const FlatConv& s, const float* x, const float* w, float* out);
void flat_conv_forward(const FlatConv& s, const double* x, const double* w, double* out);

// Adds the weight gradient of `samples` samples into `acc`, one vector of partial sums per weight: acc holds
// O * C * kh * kw vectors (of s.lanes elements) in the weight's order [O, C, kh, kw]; the weight gradient is the
// sum of each vector's lanes. x [samples, C, in_plane] as for the forward; g [samples, O, out_plane] the output
// gradient, zero in the junk columns and the tail. Several samples per call keep the partial sums in registers
// longer: a sample of LeNet's second layer alone is only 9 vectors per plane.
void flat_conv_weight_grad(const FlatConv& s, const float* x, const float* g, std::int64_t samples, float* acc);
void flat_conv_weight_grad(const FlatConv& s, const double* x, const double* g, std::int64_t samples, double* acc);

}  // namespace lamina::cpu
