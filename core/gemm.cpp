#include <lamina/core/gemm.h>

#include <cblas.h>

#include <stdexcept>

#include <lamina/core/checks.h>
#include <lamina/core/sgemm_avx512.h>

namespace lamina {

BlasOperand as_blas_operand(const Tensor& m) {
  const std::int64_t rows = m.shape()[0], cols = m.shape()[1];
  const std::int64_t s0 = m.strides()[0], s1 = m.strides()[1];
  if ((s1 == 1 || cols == 1) && s0 >= std::max<std::int64_t>(cols, 1)) return {m, false, static_cast<int>(s0)};
  if ((s0 == 1 || rows == 1) && s1 >= std::max<std::int64_t>(rows, 1)) return {m, true, static_cast<int>(s1)};
  Tensor c = m.contiguous();
  return {c, false, static_cast<int>(std::max<std::int64_t>(cols, 1))};
}

void check_gemm_args(const Tensor& a, const Tensor& b, const Tensor& c) {
  const std::int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  if (b.shape()[0] != k || c.shape()[0] != m || c.shape()[1] != n)
    throw std::invalid_argument("gemm: shapes " + shape_str(a.shape()) + " · " + shape_str(b.shape()) + " -> " + shape_str(c.shape()));
  if (!c.is_contiguous()) throw std::invalid_argument("gemm: the output must be contiguous");
}

}  // namespace lamina

namespace lamina::cpu {

void gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta) {
  check_gemm_args(a, b, c);
  const std::int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  if (m == 0 || n == 0) return;
  if (a.dtype() == DType::Float32 && has_avx512()) {  // reads a and b through their strides, copies nothing
    sgemm_avx512(m, n, k, static_cast<float>(alpha), a.data<float>(), a.strides()[0], a.strides()[1], b.data<float>(),
                 b.strides()[0], b.strides()[1], static_cast<float>(beta), c.data<float>(), n);
    return;
  }
  const BlasOperand oa = as_blas_operand(a);
  const BlasOperand ob = as_blas_operand(b);
  const auto ta = oa.transposed ? CblasTrans : CblasNoTrans;
  const auto tb = ob.transposed ? CblasTrans : CblasNoTrans;
  const int ldc = static_cast<int>(std::max<std::int64_t>(n, 1));
  if (a.dtype() == DType::Float32) {
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, static_cast<float>(alpha), oa.storage.data<float>(), oa.ld,
                ob.storage.data<float>(), ob.ld, static_cast<float>(beta), c.data<float>(), ldc);
  } else if (a.dtype() == DType::Float64) {
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, oa.storage.data<double>(), oa.ld, ob.storage.data<double>(), ob.ld,
                beta, c.data<double>(), ldc);
  } else {
    throw std::invalid_argument(std::string("gemm: unsupported dtype ") + dtype_name(a.dtype()));
  }
}

}  // namespace lamina::cpu
