#include <lamina/nn/embedding.h>

#include <lamina/core/embedding.h>

namespace lamina::nn {

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t dim) {
  weight = register_parameter("weight", {num_embeddings, dim}, init::normal(0.0, 1.0));
}

Tensor Embedding::forward(const Tensor& indices) { return embedding(indices, weight); }

std::string Embedding::extra_repr() const {
  return std::to_string(weight.shape()[0]) + ", " + std::to_string(weight.shape()[1]);
}

}  // namespace lamina::nn
