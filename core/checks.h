#pragma once
// Argument checks shared by the ops. Each throws std::invalid_argument with a message that names the op and the
// shapes, dtypes or devices involved.
#include <string>

#include <lamina/core/tensor.h>

namespace lamina {

void check_defined(const Tensor& t, const char* op, const char* what = "input");
void check_same_dtype(const Tensor& a, const Tensor& b, const char* op);
void check_same_device(const Tensor& a, const Tensor& b, const char* op);
// The CPU kernels' precondition; CUDA tensors report that the op has no CUDA kernel yet.
void check_cpu(const Tensor& t, const char* op);
void check_dim(const Tensor& t, std::int64_t expected, const char* op, const char* what = "input");
void check_floating(const Tensor& t, const char* op);
// A dimension index in [-ndim, ndim) made non-negative; out of range is std::out_of_range naming op.
std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op);
// "float32 [2, 3]" — for messages.
std::string describe(const Tensor& t);

}  // namespace lamina
