#pragma once
// How core's ops reach CUDA kernels without core depending on CUDA: lamina::cuda fills this table of entry points
// when it is linked (as it registers the DeviceBackend), and an op on a CUDA tensor calls its entry. An op whose
// entry is missing throws naming the op and the device.
//
// The entries receive tensors already validated and allocated by the op (outputs contiguous, on the inputs'
// device); they only launch kernels. Elementwise entries take the very functors of core/functors.h the CPU loops
// run, as one of the alternatives of a std::variant, so that one entry serves every elementwise op.
#include <cstdint>
#include <variant>

#include <lamina/core/functors.h>
#include <lamina/core/im2col.h>
#include <lamina/core/indexing.h>
#include <lamina/core/tensor.h>

namespace lamina {

using UnaryFunctor = std::variant<functors::Neg, functors::Abs, functors::Exp, functors::Log, functors::Sqrt,
                                  functors::Relu, functors::Sigmoid, functors::Tanh, functors::Gelu, functors::Pow,
                                  functors::Clamp, functors::AddScalar, functors::MulScalar, functors::DivScalar,
                                  functors::RsubScalar, functors::RdivScalar>;
using BinaryFunctor =
    std::variant<functors::Add, functors::Sub, functors::Mul, functors::Div, functors::Maximum, functors::Eq,
                 functors::Ne, functors::Lt, functors::Le, functors::Gt, functors::Ge, functors::AddScaled,
                 functors::ReluBackward, functors::SigmoidBackward, functors::TanhBackward, functors::GeluBackward,
                 functors::ClampBackward, functors::PowBackward, functors::AbsBackward>;

struct CudaKernels {
  // out[i] = f(x[i]); x of out's shape, any layout.
  void (*unary)(const Tensor& x, const Tensor& out, const UnaryFunctor& f) = nullptr;
  // out[i] = f(a[i], b[i]) with a and b broadcast to out's shape, any layouts. out may be a itself (in place).
  void (*binary)(const Tensor& a, const Tensor& b, const Tensor& out, const BinaryFunctor& f) = nullptr;
  // dst = src broadcast to dst's shape; any layouts, and the dtypes may differ.
  void (*copy)(const Tensor& dst, const Tensor& src) = nullptr;
  void (*fill)(const Tensor& dst, double value) = nullptr;
  // out[o, i] = sum over r of src[o, r, i], src contiguous [outer, reduce, inner].
  void (*sum)(const Tensor& src, const Tensor& out, std::int64_t outer, std::int64_t reduce, std::int64_t inner) = nullptr;
  // The maximum of each row of src, contiguous [rows, n], and its index (either output may be undefined).
  void (*max)(const Tensor& src, const Tensor& values, const Tensor& indices, std::int64_t rows, std::int64_t n) = nullptr;
  // grad [outer, n, inner] (zeroed) gets g[o, i] at index indices[o, i] of its middle dimension.
  void (*max_backward)(const Tensor& g, const Tensor& indices, const Tensor& grad, std::int64_t outer, std::int64_t n,
                       std::int64_t inner) = nullptr;
  // Softmax (or log_softmax) of contiguous x seen as [outer, n, inner], over n.
  void (*softmax)(const Tensor& x, const Tensor& y, std::int64_t outer, std::int64_t n, std::int64_t inner, bool log) = nullptr;
  void (*softmax_backward)(const Tensor& y, const Tensor& g, const Tensor& gx, std::int64_t outer, std::int64_t n,
                           std::int64_t inner, bool log) = nullptr;
  // Per row of logits [N, C]: probs = softmax, losses = -log probs[label].
  void (*cross_entropy)(const Tensor& logits, const Tensor& labels, const Tensor& probs, const Tensor& losses) = nullptr;
  // grad [N, C] = (probs - onehot(labels)) * g[i], g holding one value per row, or one for all when g_per_row is false.
  void (*cross_entropy_backward)(const Tensor& probs, const Tensor& labels, const Tensor& g, double g_scale,
                                 bool g_per_row, const Tensor& grad) = nullptr;
  // c = alpha * a · b + beta * c for 2-d a [m, k], b [k, n] (row-major or transposed views) and contiguous c.
  void (*gemm)(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta) = nullptr;
  // out[i] = mask(x[i], Philox::draw(seed, first_counter, i)), x and out contiguous.
  void (*dropout)(const Tensor& x, const Tensor& out, std::uint64_t seed, std::uint64_t first_counter,
                  functors::Dropout mask) = nullptr;
  // col [C*kh*kw, OH*OW*batch] = the windows of xt [C, H, W, batch] (kernels::im2col_element, `pad` in the
  // padding); and its adjoint, xt = col2im(col) (kernels::col2im_element). All contiguous.
  void (*im2col)(const Tensor& xt, const Tensor& col, const kernels::ConvGeometry& g, std::int64_t batch, double pad) = nullptr;
  void (*col2im)(const Tensor& col, const Tensor& xt, const kernels::ConvGeometry& g, std::int64_t batch) = nullptr;
  // out[i] = where mask[i] != 0, a[i], else b[i] (functors::Where); mask, a and b (out's dtype) broadcast to out's
  // shape, any layouts.
  void (*where)(const Tensor& mask, const Tensor& a, const Tensor& b, const Tensor& out) = nullptr;
  // index_select of x, contiguous [outer, n, inner], at the k int64 `index` into out [outer, k, inner]
  // (kernels::index_select_source_row); its backward adds g's rows into the rows of grad [outer, n, inner] they came
  // from (atomically: an index may repeat). embedding is index_select of weight's rows (outer 1).
  void (*index_select)(const Tensor& x, const Tensor& index, const Tensor& out, std::int64_t n, std::int64_t inner) = nullptr;
  void (*index_select_backward)(const Tensor& g, const Tensor& index, const Tensor& grad, std::int64_t n,
                                std::int64_t inner) = nullptr;
  // out[p] = x[geometry.source(index, p)] for x in any layout, index and out contiguous, one shape; its backward
  // adds g[p] into grad (contiguous, zeroed; geometry of grad's strides) at the same positions, atomically.
  void (*gather)(const Tensor& x, const Tensor& index, const Tensor& out, const kernels::GatherGeometry& geometry) = nullptr;
  void (*gather_backward)(const Tensor& g, const Tensor& index, const Tensor& grad,
                          const kernels::GatherGeometry& geometry) = nullptr;
  // Adaptive average pooling of x [planes, H, W] into out [planes, OH, OW] (kernels::adaptive_avg_pool_element), and
  // its backward from g [planes, OH, OW] into grad [planes, H, W] (kernels::adaptive_avg_pool_backward_element).
  // All contiguous.
  void (*adaptive_avg_pool2d)(const Tensor& x, const Tensor& out, const kernels::AdaptivePoolGeometry& g) = nullptr;
  void (*adaptive_avg_pool2d_backward)(const Tensor& g, const Tensor& grad, const kernels::AdaptivePoolGeometry& geometry) = nullptr;
};

void register_cuda_kernels(const CudaKernels& kernels);

const CudaKernels& registered_cuda_kernels();

[[noreturn]] void throw_no_cuda_kernel(const Tensor& t, const char* op);

// The entry `entry` for an op on `t`'s device; throws "op: no CUDA kernel for cuda:i tensors ..." when lamina::cuda
// is not linked or has no such kernel.
template <typename Fn>
Fn cuda_kernel(Fn CudaKernels::*entry, const Tensor& t, const char* op) {
  Fn fn = registered_cuda_kernels().*entry;
  if (fn == nullptr) throw_no_cuda_kernel(t, op);
  return fn;
}

}  // namespace lamina
