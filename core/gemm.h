#pragma once
// C = alpha · op(A) · op(B) + beta · C on 2-d strided tensors: float32 on lamina's AVX-512 GEMM where the processor
// has it (sgemm_avx512.h, which reads any strides), otherwise through cblas, where an operand that is a transposed
// view of a contiguous matrix is passed with the transpose flag instead of being copied. Internal to core.
#include <lamina/core/tensor.h>

namespace lamina {

// How BLAS reads a 2-d operand: row-major with leading dimension ld, or (transposed) a column-major view.
struct BlasOperand {
  Tensor storage;  // the tensor actually read (a contiguous copy only when the layout requires it)
  bool transposed = false;
  int ld = 0;
};
BlasOperand as_blas_operand(const Tensor& m);
// a [m, k] · b [k, n] -> c [m, n], c contiguous; throws naming the shapes.
void check_gemm_args(const Tensor& a, const Tensor& b, const Tensor& c);

}  // namespace lamina

namespace lamina::cpu {

void gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta);

}  // namespace lamina::cpu
