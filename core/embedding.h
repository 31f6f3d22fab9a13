#pragma once
// Embedding lookup: row indices[...] of a table weight [V, D].
#include <lamina/core/tensor.h>

namespace lamina {

// indices: int64 of any shape, each in [0, V). Returns [..., D] (indices' shape followed by D). Differentiable in
// weight: the gradient adds each output row back into the row it came from (repeated indices accumulate).
Tensor embedding(const Tensor& indices, const Tensor& weight);

}  // namespace lamina
