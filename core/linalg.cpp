#include <lamina/core/linalg.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <lamina/core/autograd.h>
#include <lamina/core/broadcast.h>
#include <lamina/core/checks.h>
#include <lamina/core/cuda_kernels.h>
#include <lamina/core/elementwise.h>
#include <lamina/core/gemm.h>
#include <lamina/core/functors.h>
#include <lamina/core/parallel.h>
#include <lamina/core/reduction.h>

namespace lamina {
namespace {

void check_matmul_args(const Tensor& a, const Tensor& b, const char* op) {
  check_defined(a, op, "first operand");
  check_defined(b, op, "second operand");
  check_floating(a, op);
  check_same_dtype(a, b, op);
  check_same_device(a, b, op);
  if (a.dim() == 0 || b.dim() == 0)
    throw std::invalid_argument(std::string(op) + ": both operands need at least one dimension, got " + describe(a) + " and " + describe(b));
}

// c = alpha a · b + beta c on the operands' device (cuBLAS on a CUDA device).
void gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta) {
  if (c.device().is_cuda()) cuda_kernel(&CudaKernels::gemm, c, "matmul")(a, b, c, alpha, beta);
  else cpu::gemm(a, b, c, alpha, beta);
}

// 2-d · 2-d, no autograd.
Tensor mm(const Tensor& a, const Tensor& b) {
  if (a.shape()[1] != b.shape()[0])
    throw std::invalid_argument("matmul: inner dimensions differ: " + describe(a) + " · " + describe(b));
  Tensor out = Tensor::empty({a.shape()[0], b.shape()[1]}, {.dtype = a.dtype(), .device = a.device()});
  gemm(a, b, out, 1.0, 0.0);
  return out;
}

// Batched: a [..., m, k] · b [..., k, n] with broadcast batch dims, no autograd.
Tensor bmm_broadcast(const Tensor& a, const Tensor& b) {
  const std::int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  if (b.size(-2) != k)
    throw std::invalid_argument("matmul: inner dimensions differ: " + describe(a) + " · " + describe(b));
  const Shape batch_a(a.shape().begin(), a.shape().end() - 2);
  const Shape batch_b(b.shape().begin(), b.shape().end() - 2);
  const Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  Shape ea = batch, eb = batch, out_shape = batch;
  ea.insert(ea.end(), {m, k});
  eb.insert(eb.end(), {k, n});
  out_shape.insert(out_shape.end(), {m, n});
  const Tensor xa = a.expand(ea), xb = b.expand(eb);
  Tensor out = Tensor::empty(out_shape, {.dtype = a.dtype(), .device = a.device()});
  const std::int64_t batches = shape_numel(batch);
  const OffsetCalculator oa = make_offset_calculator(batch, Shape(xa.strides().begin(), xa.strides().end() - 2));
  const OffsetCalculator ob = make_offset_calculator(batch, Shape(xb.strides().begin(), xb.strides().end() - 2));
  for (std::int64_t i = 0; i < batches; ++i) {
    const Tensor ai = xa.as_strided({m, k}, {xa.strides()[xa.dim() - 2], xa.strides()[xa.dim() - 1]}, xa.offset() + oa(i));
    const Tensor bi = xb.as_strided({k, n}, {xb.strides()[xb.dim() - 2], xb.strides()[xb.dim() - 1]}, xb.offset() + ob(i));
    gemm(ai, bi, out.as_strided({m, n}, {n, 1}, i * m * n), 1.0, 0.0);
  }
  return out;
}

// matmul without autograd, for any ranks.
Tensor matmul_forward(const Tensor& a, const Tensor& b) {
  if (a.dim() == 1 && b.dim() == 1) {
    if (a.numel() != b.numel()) throw std::invalid_argument("matmul: dot product of " + describe(a) + " and " + describe(b));
    return mm(a.view({1, a.numel()}), b.view({b.numel(), 1})).view({});
  }
  if (a.dim() == 1) return matmul_forward(a.unsqueeze(0), b).squeeze(-2);
  if (b.dim() == 1) return matmul_forward(a, b.unsqueeze(1)).squeeze(-1);
  if (a.dim() == 2 && b.dim() == 2) return mm(a, b);
  // [..., m, k] · [k, n] with a contiguous batch: one GEMM over all rows.
  if (b.dim() == 2 && a.is_contiguous()) {
    Shape out_shape = a.shape();
    out_shape.back() = b.shape()[1];
    return mm(a.view({-1, a.size(-1)}), b).view(out_shape);
  }
  return bmm_broadcast(a, b);
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_matmul_args(a, b, "matmul");
  Tensor out = matmul_forward(a.detach(), b.detach());
  if (autograd::needs_grad({&a, &b})) {
    autograd::record("matmul", out, {a, b}, [a = a.detach(), b = b.detach(), ra = a.requires_grad(), rb = b.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
      // Promote vectors to matrices so one formula covers every rank, then undo the promotion.
      const Tensor a2 = a.dim() == 1 ? a.unsqueeze(0) : a;
      const Tensor b2 = b.dim() == 1 ? b.unsqueeze(1) : b;
      // b's column first: for a dot product g is 0-d, and only [] -> [1] -> [1, 1] is valid.
      Tensor g2 = g;
      if (b.dim() == 1) g2 = g2.unsqueeze(-1);
      if (a.dim() == 1) g2 = g2.unsqueeze(-2);
      Tensor ga, gb;
      if (ra) ga = autograd::sum_to(matmul_forward(g2, b2.transpose(-1, -2)), a2.shape()).reshape(a.shape());
      if (rb) gb = autograd::sum_to(matmul_forward(a2.transpose(-1, -2), g2), b2.shape()).reshape(b.shape());
      return {ga, gb};
    });
  }
  return out;
}

namespace {

void check_linear_args(const Tensor& x, const Tensor& weight, const Tensor& bias, const char* op) {
  check_matmul_args(x, weight, op);
  check_dim(weight, 2, op, "weight");
  if (x.size(-1) != weight.shape()[1])
    throw std::invalid_argument(std::string(op) + ": input " + describe(x) + " has " + std::to_string(x.size(-1)) +
                                " features but the weight " + describe(weight) + " expects " + std::to_string(weight.shape()[1]));
  const std::int64_t out_features = weight.shape()[0];
  if (bias.defined() && (bias.dim() != 1 || bias.shape()[0] != out_features))
    throw std::invalid_argument(std::string(op) + ": bias " + describe(bias) + " does not match " + std::to_string(out_features) +
                                " output features");
}

// x2 [rows, in] · weightᵀ + bias into a new [rows, out].
Tensor linear_2d(const Tensor& x2, const Tensor& weight, const Tensor& bias) {
  Tensor out2 = Tensor::empty({x2.shape()[0], weight.shape()[0]}, {.dtype = x2.dtype(), .device = x2.device()});
  // The bias is written first and GEMM accumulates onto it (beta = 1): no separate pass over the output.
  if (bias.defined()) out2.copy_(bias.detach().expand(out2.shape()));
  gemm(x2, weight.detach().t(), out2, 1.0, bias.defined() ? 1.0 : 0.0);
  return out2;
}

// The weight gradient g2ᵀ · x2 of a linear layer, computed into the weight's grad destination where it has one.
Tensor weight_gradient(const Tensor& g2, const Tensor& x2, const Tensor& weight) {
  Tensor gw = autograd::grad_output_for(weight, weight.shape(), {.dtype = g2.dtype(), .device = g2.device()});
  gemm(g2.t(), x2, gw, 1.0, 0.0);
  return gw;
}

Shape linear_out_shape(const Tensor& x, const Tensor& weight) {
  Shape shape = x.shape();
  shape.back() = weight.shape()[0];
  return shape;
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_linear_args(x, weight, bias, "linear");
  const Tensor x2 = x.detach().reshape({-1, x.size(-1)});
  Tensor out = linear_2d(x2, weight, bias).view(linear_out_shape(x, weight));
  if (autograd::needs_grad({&x, &weight, &bias})) {
    autograd::record("linear", out, {x, weight, bias},
                     [x2, weight, w = weight.detach(), in_shape = x.shape(), rx = x.requires_grad(), rw = weight.requires_grad(),
                      rb = bias.defined() && bias.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
      const Tensor g2 = g.reshape({-1, g.size(-1)});
      Tensor gx, gw, gb;
      if (rx) gx = mm(g2, w).view(in_shape);
      if (rw) gw = weight_gradient(g2, x2, weight);
      if (rb) gb = sum(g2, {0});
      return {gx, gw, gb};
    });
  }
  return out;
}

Tensor linear_relu(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_linear_args(x, weight, bias, "linear_relu");
  // The fused CPU passes below are host loops; on a GPU the two ops are kernels anyway.
  if (x.device().is_cuda()) return relu(linear(x, weight, bias));
  const Tensor x2 = x.detach().reshape({-1, x.size(-1)});
  const Tensor out2 = linear_2d(x2, weight, bias);
  dispatch_floating(out2.dtype(), "linear_relu", [&]<typename T>() {
    T* y = out2.data<T>();
    const std::int64_t n = out2.numel();
#pragma omp parallel for simd if (n > kParallelGrain)
    for (std::int64_t i = 0; i < n; ++i) y[i] = functors::Relu{}(y[i]);
  });
  Tensor out = out2.view(linear_out_shape(x, weight));
  if (autograd::needs_grad({&x, &weight, &bias})) {
    // The output, not the product, is saved: it is positive exactly where the product is.
    autograd::record("linear_relu", out, {x, weight, bias},
                     [x2, weight, bias, w = weight.detach(), y = out2.detach(), in_shape = x.shape(), rx = x.requires_grad(),
                      rw = weight.requires_grad(), rb = bias.defined() && bias.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
      const Tensor gc = g.reshape(y.shape()).contiguous();
      const std::int64_t rows = y.shape()[0], cols = y.shape()[1];
      Tensor masked = Tensor::empty(y.shape(), {.dtype = y.dtype()});
      Tensor gb = rb ? autograd::grad_output_for(bias, {cols}, {.dtype = y.dtype()}) : Tensor();
      dispatch_floating(y.dtype(), "linear_relu", [&]<typename T>() {
        const T* py = y.data<T>();
        const T* pg = gc.data<T>();
        T* pm = masked.data<T>();
        // The bias gradient sums columns in T over blocks of 64 rows (loops that vectorize), and the blocks'
        // sums in double, so that a long float32 sum keeps its digits.
        constexpr std::int64_t kBlock = 64;
        std::vector<T> block_sums(cols);
        std::vector<double> column_sums(cols, 0.0);
        for (std::int64_t r0 = 0; r0 < rows; r0 += kBlock) {
          std::fill(block_sums.begin(), block_sums.end(), T(0));
          for (std::int64_t r = r0; r < std::min(rows, r0 + kBlock); ++r)
            for (std::int64_t c = 0; c < cols; ++c) {
              const T m = functors::ReluBackward{}(py[r * cols + c], pg[r * cols + c]);
              pm[r * cols + c] = m;
              block_sums[c] += m;
            }
          for (std::int64_t c = 0; c < cols; ++c) column_sums[c] += block_sums[c];
        }
        for (std::int64_t c = 0; rb && c < cols; ++c) gb.data<T>()[c] = static_cast<T>(column_sums[c]);
      });
      Tensor gx, gw;
      if (rx) gx = mm(masked, w).view(in_shape);
      if (rw) gw = weight_gradient(masked, x2, weight);
      return {gx, gw, gb};
    });
  }
  return out;
}

Tensor Tensor::matmul(const Tensor& other) const { return lamina::matmul(*this, other); }

}  // namespace lamina
