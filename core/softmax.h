#pragma once
// Softmax and log-softmax along one dimension. Both subtract the maximum along that dimension before
// exponentiating, so large inputs neither overflow nor lose the small entries.
#include <lamina/core/tensor.h>

namespace lamina {

Tensor softmax(const Tensor& x, std::int64_t dim);
Tensor log_softmax(const Tensor& x, std::int64_t dim);

}  // namespace lamina
