#pragma once
// Matrix products through OpenBLAS. Transposed views are passed to GEMM as transposed operands, never copied.
#include <lamina/core/tensor.h>

namespace lamina {

// torch.matmul semantics: 1-d·1-d is a dot product, 2-d·2-d a matrix product, and higher ranks are batches of
// matrices whose batch dimensions broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);
// y = x · weightᵀ + bias, for x of shape [..., in], weight [out, in], bias [out] (or undefined).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});
// relu(linear(x, weight, bias)) as one op: the ReLU is applied in place on the product, and the backward masks
// the output gradient and sums the bias gradient in one pass (an MLP's hidden layer: ~1% of its step saved).
Tensor linear_relu(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

}  // namespace lamina
