#include <lamina/core/conv.h>

#include <omp.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include <lamina/core/autograd.h>
#include <lamina/core/checks.h>
#include <lamina/core/direct_conv.h>
#include <lamina/core/elementwise.h>
#include <lamina/core/gemm.h>
#include <lamina/core/im2col.h>
#include <lamina/core/linalg.h>
#include <lamina/core/parallel.h>
#include <lamina/core/simd.h>
#include <lamina/core/unfold.h>

namespace lamina {
namespace {

using kernels::ConvGeometry;

ConvGeometry check_conv2d_args(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& o) {
  const char* op = "conv2d";
  check_defined(x, op, "input");
  check_defined(weight, op, "weight");
  check_floating(x, op);
  check_same_dtype(x, weight, op);
  check_same_device(x, weight, op);
  if (x.dim() != 4)
    throw std::invalid_argument("conv2d: expected a 4-d input [N, C, H, W], got " + describe(x));
  if (weight.dim() != 4)
    throw std::invalid_argument("conv2d: expected a 4-d weight [out_channels, in_channels, kh, kw], got " + describe(weight));
  if (x.shape()[1] != weight.shape()[1])
    throw std::invalid_argument("conv2d: input " + describe(x) + " has " + std::to_string(x.shape()[1]) +
                                " channels but weight " + describe(weight) + " expects " + std::to_string(weight.shape()[1]));
  if (bias.defined()) {
    check_same_dtype(x, bias, op);
    check_same_device(x, bias, op);
    if (bias.dim() != 1 || bias.shape()[0] != weight.shape()[0])
      throw std::invalid_argument("conv2d: bias " + describe(bias) + " does not match the " +
                                  std::to_string(weight.shape()[0]) + " output channels of weight " + describe(weight));
  }
  if (o.stride.h < 1 || o.stride.w < 1 || o.dilation.h < 1 || o.dilation.w < 1 || o.padding.h < 0 || o.padding.w < 0)
    throw std::invalid_argument("conv2d: stride " + o.stride.str() + " and dilation " + o.dilation.str() +
                                " must be positive and padding " + o.padding.str() + " non-negative");
  ConvGeometry g{};
  g.channels = x.shape()[1];
  g.height = x.shape()[2];
  g.width = x.shape()[3];
  g.kernel_h = weight.shape()[2];
  g.kernel_w = weight.shape()[3];
  g.stride_h = o.stride.h;
  g.stride_w = o.stride.w;
  g.pad_h = o.padding.h;
  g.pad_w = o.padding.w;
  g.dilation_h = o.dilation.h;
  g.dilation_w = o.dilation.w;
  g.out_h = kernels::conv_out_size(g.height, g.kernel_h, g.stride_h, g.pad_h, g.dilation_h);
  g.out_w = kernels::conv_out_size(g.width, g.kernel_w, g.stride_w, g.pad_w, g.dilation_w);
  if (g.out_h <= 0 || g.out_w <= 0)
    throw std::invalid_argument("conv2d: output would be empty (" + std::to_string(g.out_h) + "x" + std::to_string(g.out_w) +
                                "): input " + describe(x) + " of size " + std::to_string(g.height) + "x" +
                                std::to_string(g.width) + ", kernel " + std::to_string(g.kernel_h) + "x" +
                                std::to_string(g.kernel_w) + ", stride " + o.stride.str() + ", padding " +
                                o.padding.str() + ", dilation " + o.dilation.str());
  return g;
}

// Samples per block. The samples of a block share one column matrix [K, P*B] and one GEMM, which keeps the GEMM
// wide when a sample has few output positions and makes im2col's runs B times longer (see im2col.h); capping the
// column buffer keeps it in cache between im2col writing it and GEMM reading it.
constexpr std::int64_t kColumnBlockBytes = std::int64_t(1) << 20;

// How the batch is cut into blocks, and how many threads take blocks. Blocks run in parallel, each thread with
// its own scratch and GEMM calls; OpenBLAS's OpenMP build runs a GEMM called inside a parallel region on the
// calling thread, so the two pools never nest. A batch of one block runs outside any parallel region and leaves
// the threads to OpenBLAS instead.
struct BlockPlan {
  std::int64_t block, blocks;
  int threads;
};

BlockPlan plan_blocks(const ConvGeometry& g, std::int64_t batch, std::int64_t element_size) {
  const std::int64_t per_sample = g.channels * g.kernel_h * g.kernel_w * g.out_h * g.out_w * element_size;
  const std::int64_t block = std::max<std::int64_t>(1, std::min(batch, kColumnBlockBytes / std::max<std::int64_t>(per_sample, 1)));
  const std::int64_t blocks = (batch + block - 1) / block;
  return {block, blocks, static_cast<int>(std::clamp<std::int64_t>(blocks, 1, num_threads()))};
}

// A contiguous [rows, cols] matrix at element `offset` of `buffer`.
Tensor matrix_at(const Tensor& buffer, std::int64_t offset, std::int64_t rows, std::int64_t cols) {
  return buffer.as_strided({rows, cols}, {cols, 1}, buffer.offset() + offset);
}

// Layout changes between a block of B samples [B, S] and batch-innermost [S, B]. Both write contiguously and
// read with a stride: ~3x faster here than strided writes when the source is in cache.

// [B, S] -> [S, B]
template <typename T> void interleave(const T* src, T* dst, std::int64_t batch, std::int64_t size) {
  for (std::int64_t s = 0; s < size; ++s)
    for (std::int64_t b = 0; b < batch; ++b) dst[s * batch + b] = src[b * size + s];
}

// [S, B] -> [B, S]
template <typename T> void deinterleave(const T* src, T* dst, std::int64_t batch, std::int64_t size) {
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t s = 0; s < size; ++s) dst[b * size + s] = src[s * batch + b];
}

// The column matrix [K, P*B] of the block of B samples at x; xt receives the block interleaved to [C, H, W, B].
template <typename T> void block_columns(const ConvGeometry& g, std::int64_t nb, const T* x, T* xt, T* col) {
  const std::int64_t rows = g.channels * g.kernel_h * g.kernel_w, ld = g.out_h * g.out_w * nb;
  interleave(x, xt, nb, g.channels * g.height * g.width);
  for (std::int64_t r = 0; r < rows; ++r) kernels::im2col_row(g, nb, xt, col + r * ld, r);
}

// out [N, O, P] = weight [O, K] · im2col(x) + bias, one block of B samples at a time: one GEMM per block gives
// the product [O, P*B], which is de-interleaved into the output with the bias added.
template <typename T>
void conv2d_forward(const ConvGeometry& g, const Tensor& x, const Tensor& weight2, const Tensor& bias, const Tensor& out) {
  const std::int64_t batch = x.shape()[0], out_channels = weight2.shape()[0], k = weight2.shape()[1];
  const std::int64_t p = g.out_h * g.out_w, in_size = g.channels * g.height * g.width, out_size = out_channels * p;
  const BlockPlan plan = plan_blocks(g, batch, sizeof(T));
  // Per thread: the interleaved input, the column matrix, the GEMM product.
  const std::int64_t xt_size = plan.block * in_size, col_size = k * plan.block * p;
  const std::int64_t scratch_size = xt_size + col_size + out_channels * plan.block * p;
  const Tensor scratch = Tensor::empty({plan.threads * scratch_size}, {.dtype = x.dtype()});
  const T* pb = bias.defined() ? bias.data<T>() : nullptr;
#pragma omp parallel for num_threads(plan.threads) schedule(static, 1)
  for (std::int64_t blk = 0; blk < plan.blocks; ++blk) {
    const std::int64_t n0 = blk * plan.block, nb = std::min(plan.block, batch - n0), ld = nb * p;
    const std::int64_t base = omp_get_thread_num() * scratch_size;
    T* xt = scratch.data<T>() + base;
    block_columns(g, nb, x.data<T>() + n0 * in_size, xt, xt + xt_size);
    cpu::gemm(weight2, matrix_at(scratch, base + xt_size, k, ld), matrix_at(scratch, base + xt_size + col_size, out_channels, ld),
              1.0, 0.0);
    const T* prod = xt + xt_size + col_size;
    T* dst = out.data<T>() + n0 * out_size;
    for (std::int64_t b = 0; b < nb; ++b)
      for (std::int64_t o = 0; o < out_channels; ++o) {
        const T shift = pb ? pb[o] : T(0);
        for (std::int64_t q = o * p; q < (o + 1) * p; ++q) dst[b * out_size + q] = prod[q * nb + b] + shift;
      }
  }
}

// The three gradients of conv2d_forward, block by block like the forward. grad_out is [N, O, P] contiguous; the
// outputs that are non-null are written: grad_x [N, C, H, W], grad_w [O, K], grad_b [O]. Each thread sums its
// blocks' weight and bias gradients into its own slot; the slots are added at the end. The weight gradient is
// summed transposed, as col · gprod^T [K, O]: OpenBLAS ran that 15-40% faster than gprod · col^T here (a small
// output over a long inner dimension).
template <typename T>
void conv2d_backward(const ConvGeometry& g, const Tensor& x, const Tensor& weight2, const Tensor& grad_out,
                     Tensor* grad_x, Tensor* grad_w, Tensor* grad_b) {
  const std::int64_t batch = x.shape()[0], out_channels = weight2.shape()[0], k = weight2.shape()[1];
  const std::int64_t p = g.out_h * g.out_w, in_size = g.channels * g.height * g.width, out_size = out_channels * p;
  const BlockPlan plan = plan_blocks(g, batch, sizeof(T));
  // Per thread: the interleaved input, the column matrix, the interleaved output gradient.
  const std::int64_t xt_size = plan.block * in_size, col_size = k * plan.block * p;
  const std::int64_t scratch_size = xt_size + col_size + out_channels * plan.block * p;
  const Tensor scratch = Tensor::empty({plan.threads * scratch_size}, {.dtype = x.dtype()});
  const Tensor weight_sums = zeros({plan.threads * k, out_channels}, {.dtype = x.dtype()});
  std::vector<double> bias_sums(plan.threads * out_channels, 0.0);  // float row sums add up in double
#pragma omp parallel for num_threads(plan.threads) schedule(static, 1)
  for (std::int64_t blk = 0; blk < plan.blocks; ++blk) {
    const std::int64_t n0 = blk * plan.block, nb = std::min(plan.block, batch - n0), ld = nb * p;
    const int thread = omp_get_thread_num();
    const std::int64_t base = thread * scratch_size;
    T* xt = scratch.data<T>() + base;
    T* col = xt + xt_size;
    T* gprod = col + col_size;
    const Tensor colv = matrix_at(scratch, base + xt_size, k, ld);
    const Tensor gprodv = matrix_at(scratch, base + xt_size + col_size, out_channels, ld);
    // The block's output gradient interleaved to the GEMM layout [O, P*B], and the bias gradient, in one
    // contiguous pass over grad_out (which comes from memory, while gprod stays in cache).
    const T* src = grad_out.data<T>() + n0 * out_size;
    for (std::int64_t o = 0; o < out_channels; ++o)
      for (std::int64_t b = 0; b < nb; ++b) {
        const T* row = src + b * out_size + o * p;
        T* dst = gprod + o * p * nb + b;
        T s = 0;
        // `omp simd` lets the sum run in vector lanes instead of one serial chain of adds.
#pragma omp simd reduction(+ : s)
        for (std::int64_t q = 0; q < p; ++q) {
          dst[q * nb] = row[q];
          s += row[q];
        }
        bias_sums[thread * out_channels + o] += s;
      }
    if (grad_w) {
      block_columns(g, nb, x.data<T>() + n0 * in_size, xt, col);
      cpu::gemm(colv, gprodv.t(), weight_sums.slice(0, thread * k, (thread + 1) * k), 1.0, 1.0);
    }
    if (grad_x) {
      cpu::gemm(weight2.t(), gprodv, colv, 1.0, 0.0);
      for (std::int64_t c = 0; c < g.channels; ++c) kernels::col2im_channel(g, nb, col, ld, xt, c);
      deinterleave(xt, grad_x->data<T>() + n0 * in_size, nb, in_size);
    }
  }
  if (grad_w) {
    grad_w->zero_();
    for (int t = 0; t < plan.threads; ++t) grad_w->add_(weight_sums.slice(0, t * k, (t + 1) * k).t());
  }
  if (grad_b) {
    for (std::int64_t o = 0; o < out_channels; ++o) {
      double total = 0;
      for (int t = 0; t < plan.threads; ++t) total += bias_sums[t * out_channels + o];
      grad_b->data<T>()[o] = static_cast<T>(total);
    }
  }
}

// --- Direct kernels (direct_conv.h) for few channels ---

// im2col + GEMM runs badly when the GEMM is small or thin: LeNet's first layer multiplies 6 rows by an inner
// dimension of 25 (15-30 GFLOP/s here); the direct kernels run such layers several times faster. They need
// stride 1 and no dilation, and padding below the kernel size (the input gradient is then a correlation with
// the non-negative padding kernel - 1 - padding).
bool use_direct(const ConvGeometry& g, std::int64_t out_channels) {
  return g.stride_h == 1 && g.stride_w == 1 && g.dilation_h == 1 && g.dilation_w == 1 && g.channels <= 16 &&
         out_channels <= 16 && g.pad_h < g.kernel_h && g.pad_w < g.kernel_w;
}

// The flat-plane geometry of conv2d's forward (and its weight gradient), for element type T.
template <typename T> cpu::FlatConv forward_planes(const ConvGeometry& g, std::int64_t out_channels) {
  return {g.channels, out_channels, g.kernel_h, g.kernel_w, g.width + 2 * g.pad_w, g.out_h, g.out_w, simd::kLanes<T>};
}

// The input gradient as a correlation: the output gradient, padded by kernel - 1 - padding, correlated with the
// weight flipped in both axes and with its channel roles swapped gives an output of the input's size.
template <typename T> cpu::FlatConv input_grad_planes(const ConvGeometry& g, std::int64_t out_channels) {
  return {out_channels, g.channels, g.kernel_h, g.kernel_w, g.out_w + 2 * (g.kernel_w - 1 - g.pad_w), g.height, g.width,
          simd::kLanes<T>};
}

// Copies the [rows, cols] image at src into a flat plane at dst (row pitch `pitch`), starting at row r0 and
// column c0. The rest of the plane is not touched: the callers zero each scratch plane once and only ever write
// the same interior, so the padding stays zero.
template <typename T>
void copy_into_plane(const T* src, std::int64_t rows, std::int64_t cols, T* dst, std::int64_t pitch, std::int64_t r0, std::int64_t c0) {
  // Rows are short (LeNet's: 10 to 28 elements): a plain loop beats a memmove call per row.
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) dst[(r0 + r) * pitch + c0 + c] = src[r * cols + c];
}

// The valid [rows, cols] part of a flat output plane (row pitch `pitch`) into dst, plus `shift`.
template <typename T>
void copy_from_plane(const T* src, std::int64_t pitch, std::int64_t rows, std::int64_t cols, T* dst, T shift) {
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) dst[r * cols + c] = src[r * pitch + c] + shift;
}

template <typename T>
void direct_forward(const ConvGeometry& g, const Tensor& x, const Tensor& weight2, const Tensor& bias, const Tensor& out) {
  const std::int64_t batch = x.shape()[0], out_channels = weight2.shape()[0];
  const cpu::FlatConv s = forward_planes<T>(g, out_channels);
  const std::int64_t taps = s.taps(), in_size = g.channels * g.height * g.width, out_size = out_channels * g.out_h * g.out_w;
  std::vector<T> packed(taps * out_channels);  // tap-major, as flat_conv_forward reads it
  const T* w = weight2.data<T>();
  for (std::int64_t o = 0; o < out_channels; ++o)
    for (std::int64_t t = 0; t < taps; ++t) packed[t * out_channels + o] = w[o * taps + t];
  const int threads = static_cast<int>(std::clamp<std::int64_t>(batch, 1, num_threads()));
  const std::int64_t x_scratch = g.channels * s.in_plane(), scratch_size = x_scratch + out_channels * s.out_plane();
  const Tensor scratch = zeros({threads * scratch_size}, {.dtype = x.dtype()});
  const T* pb = bias.defined() ? bias.data<T>() : nullptr;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::int64_t b = 0; b < batch; ++b) {
    T* xp = scratch.data<T>() + omp_get_thread_num() * scratch_size;
    T* op = xp + x_scratch;
    for (std::int64_t c = 0; c < g.channels; ++c)
      copy_into_plane(x.data<T>() + b * in_size + c * g.height * g.width, g.height, g.width, xp + c * s.in_plane(), s.width,
                      g.pad_h, g.pad_w);
    cpu::flat_conv_forward(s, xp, packed.data(), op);
    for (std::int64_t o = 0; o < out_channels; ++o)
      copy_from_plane(op + o * s.out_plane(), s.width, g.out_h, g.out_w, out.data<T>() + b * out_size + o * g.out_h * g.out_w,
                      pb ? pb[o] : T(0));
  }
}

// Samples per call of flat_conv_weight_grad: its register tiles then run over 16 planes before they are added
// to memory, and the block's planes (~0.3 MB for LeNet's second layer) stay in L2.
constexpr std::int64_t kWeightGradSamples = 16;

// The three gradients of direct_forward (grad_out [N, O, OH, OW] contiguous), in blocks of samples. Each thread
// sums its blocks' weight gradients in its own vectors of partial sums and its bias gradients in double; the
// threads' sums are added at the end.
template <typename T>
void direct_backward(const ConvGeometry& g, const Tensor& x, const Tensor& weight2, const Tensor& grad_out,
                     Tensor* grad_x, Tensor* grad_w, Tensor* grad_b) {
  constexpr std::int64_t L = simd::kLanes<T>;
  const std::int64_t batch = x.shape()[0], out_channels = weight2.shape()[0];
  const cpu::FlatConv s = forward_planes<T>(g, out_channels);
  const cpu::FlatConv sd = input_grad_planes<T>(g, out_channels);
  const std::int64_t taps = s.taps(), plane = g.out_h * g.out_w;
  const std::int64_t in_size = g.channels * g.height * g.width, out_size = out_channels * plane;
  // The input gradient's weights, tap-major: tap (o, i, j) of output channel c is weight (o, c, kh-1-i, kw-1-j).
  std::vector<T> flipped(grad_x ? taps * out_channels : 0);
  const T* w = weight2.data<T>();
  if (grad_x)
    for (std::int64_t o = 0; o < out_channels; ++o)
      for (std::int64_t c = 0; c < g.channels; ++c)
        for (std::int64_t i = 0; i < g.kernel_h; ++i)
          for (std::int64_t j = 0; j < g.kernel_w; ++j)
            flipped[((o * g.kernel_h + i) * g.kernel_w + j) * g.channels + c] =
                w[((o * g.channels + c) * g.kernel_h + g.kernel_h - 1 - i) * g.kernel_w + g.kernel_w - 1 - j];
  // Per thread: [padded x, output gradient as flat planes (a block of samples each), weight-gradient vectors]
  // for grad_w and [padded output gradient, input gradient as a flat plane] (one sample) for grad_x.
  const std::int64_t block = std::min(batch, kWeightGradSamples), blocks = (batch + block - 1) / block;
  const std::int64_t x_sample = g.channels * s.in_plane(), g_sample = out_channels * s.out_plane();
  const std::int64_t x_part = grad_w ? block * x_sample : 0, g_part = grad_w ? block * g_sample : 0;
  const std::int64_t acc_part = grad_w ? out_channels * taps * L : 0;
  const std::int64_t gd_part = grad_x ? out_channels * sd.in_plane() : 0, gx_part = grad_x ? g.channels * sd.out_plane() : 0;
  const std::int64_t scratch_size = x_part + g_part + acc_part + gd_part + gx_part;
  const int threads = static_cast<int>(std::clamp<std::int64_t>(blocks, 1, num_threads()));
  const Tensor scratch = zeros({threads * scratch_size}, {.dtype = x.dtype()});
  std::vector<double> bias_sums(threads * out_channels, 0.0);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::int64_t blk = 0; blk < blocks; ++blk) {
    const int thread = omp_get_thread_num();
    T* xp = scratch.data<T>() + thread * scratch_size;
    T* gp = xp + x_part;
    T* acc = gp + g_part;
    T* gdp = acc + acc_part;
    T* gxp = gdp + gd_part;
    const std::int64_t n0 = blk * block, nb = std::min(block, batch - n0);
    for (std::int64_t k = 0; k < nb; ++k) {
      const std::int64_t b = n0 + k;
      const T* src = grad_out.data<T>() + b * out_size;
      for (std::int64_t o = 0; o < out_channels; ++o) {
        T sum = 0;
        // `omp simd` lets the sum run in vector lanes instead of one serial chain of adds.
#pragma omp simd reduction(+ : sum)
        for (std::int64_t q = o * plane; q < (o + 1) * plane; ++q) sum += src[q];
        bias_sums[thread * out_channels + o] += sum;
      }
      if (grad_w) {
        for (std::int64_t c = 0; c < g.channels; ++c)
          copy_into_plane(x.data<T>() + b * in_size + c * g.height * g.width, g.height, g.width,
                          xp + k * x_sample + c * s.in_plane(), s.width, g.pad_h, g.pad_w);
        for (std::int64_t o = 0; o < out_channels; ++o)
          copy_into_plane(src + o * plane, g.out_h, g.out_w, gp + k * g_sample + o * s.out_plane(), s.width, 0, 0);
      }
      if (grad_x) {
        for (std::int64_t o = 0; o < out_channels; ++o)
          copy_into_plane(src + o * plane, g.out_h, g.out_w, gdp + o * sd.in_plane(), sd.width, g.kernel_h - 1 - g.pad_h,
                          g.kernel_w - 1 - g.pad_w);
        cpu::flat_conv_forward(sd, gdp, flipped.data(), gxp);
        for (std::int64_t c = 0; c < g.channels; ++c)
          copy_from_plane(gxp + c * sd.out_plane(), sd.width, g.height, g.width,
                          grad_x->data<T>() + b * in_size + c * g.height * g.width, T(0));
      }
    }
    if (grad_w) cpu::flat_conv_weight_grad(s, xp, gp, nb, acc);
  }
  if (grad_w) {
    T* gw = grad_w->data<T>();
    for (std::int64_t k = 0; k < out_channels * taps; ++k) {
      double total = 0;
      for (int t = 0; t < threads; ++t) {
        const T* lanes = scratch.data<T>() + t * scratch_size + x_part + g_part + k * L;
        for (std::int64_t l = 0; l < L; ++l) total += lanes[l];
      }
      gw[k] = static_cast<T>(total);
    }
  }
  if (grad_b) {
    for (std::int64_t o = 0; o < out_channels; ++o) {
      double total = 0;
      for (int t = 0; t < threads; ++t) total += bias_sums[t * out_channels + o];
      grad_b->data<T>()[o] = static_cast<T>(total);
    }
  }
}

}  // namespace

std::string IntPair::str() const {
  // Appended piece by piece: g++ 12 gives a false -Wrestrict warning for "(" + std::to_string(h).
  std::string s = "(";
  s += std::to_string(h);
  s += ", ";
  s += std::to_string(w);
  s += ")";
  return s;
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions options) {
  const ConvGeometry g = check_conv2d_args(x, weight, bias, options);
  if (x.device().is_cuda()) {
    // On a GPU: im2col of the whole batch and one GEMM, as differentiable ops (autograd derives the backward from
    // unfold's col2im and the GEMM's). The output's columns are (oh, ow, n): back to [N, O, OH, OW].
    const std::int64_t batch = x.shape()[0], out_channels = weight.shape()[0];
    const Tensor y = matmul(weight.reshape({out_channels, -1}), unfold(x, g))
                         .view({out_channels, g.out_h, g.out_w, batch})
                         .permute({3, 0, 1, 2});
    return bias.defined() ? add(y, bias.view({1, out_channels, 1, 1})) : y.contiguous();
  }
  const Tensor xc = x.detach().contiguous();
  const Tensor w2 = weight.detach().contiguous().view({weight.shape()[0], weight.numel() / weight.shape()[0]});
  const Tensor bc = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor out = Tensor::empty({x.shape()[0], weight.shape()[0], g.out_h, g.out_w}, {.dtype = x.dtype()});
  const bool direct = use_direct(g, weight.shape()[0]);
  dispatch_floating(x.dtype(), "conv2d", [&]<typename T>() {
    if (direct) direct_forward<T>(g, xc, w2, bc, out);
    else conv2d_forward<T>(g, xc, w2, bc, out);
  });
  if (autograd::needs_grad({&x, &weight, &bias})) {
    autograd::record("conv2d", out, {x, weight, bias},
                     [g, direct, xc, w2, weight, bias, rx = x.requires_grad(), rw = weight.requires_grad(),
                      rb = bias.defined() && bias.requires_grad()](const Tensor& grad) -> std::vector<Tensor> {
      const Tensor gc = grad.contiguous();
      Tensor gx, gw, gb;
      if (rx) gx = Tensor::empty(xc.shape(), {.dtype = xc.dtype()});
      if (rw) gw = autograd::grad_output_for(weight, weight.shape(), {.dtype = xc.dtype()}).view(w2.shape());
      if (rb) gb = autograd::grad_output_for(bias, bias.shape(), {.dtype = xc.dtype()});
      dispatch_floating(xc.dtype(), "conv2d backward", [&]<typename T>() {
        if (direct) direct_backward<T>(g, xc, w2, gc, rx ? &gx : nullptr, rw ? &gw : nullptr, rb ? &gb : nullptr);
        else conv2d_backward<T>(g, xc, w2, gc, rx ? &gx : nullptr, rw ? &gw : nullptr, rb ? &gb : nullptr);
      });
      return {gx, rw ? gw.view(weight.shape()) : Tensor(), gb};
    });
  }
  return out;
}

}  // namespace lamina
