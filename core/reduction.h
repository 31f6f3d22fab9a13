#pragma once
// Reductions over all elements or chosen dimensions (keepdim keeps them as size 1).
#include <lamina/core/tensor.h>

namespace lamina {

Tensor sum(const Tensor& x);
Tensor sum(const Tensor& x, const Shape& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const Shape& dims, bool keepdim = false);
// Largest value (gradient flows to the first maximal element).
Tensor max(const Tensor& x);
Tensor max(const Tensor& x, std::int64_t dim, bool keepdim = false);
// Index of the first largest value, as int64.
Tensor argmax(const Tensor& x);
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false);

}  // namespace lamina
