#pragma once
// C = alpha · op(A) · op(B) + beta · C on 2-d strided tensors, through cblas. An operand that is a transposed
// view of a contiguous matrix is passed with the transpose flag instead of being copied. Internal to core.
#include <lamina/core/tensor.h>

namespace lamina::cpu {

void gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta);

}  // namespace lamina::cpu
