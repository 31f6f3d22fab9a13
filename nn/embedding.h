#pragma once
// Embedding: a learned table of num_embeddings vectors of size dim; forward maps int64 indices of any shape to
// their vectors ([..., dim]).
#include <cstdint>

#include <lamina/nn/module.h>

namespace lamina::nn {

class Embedding : public Module {
 public:
  Embedding(std::int64_t num_embeddings, std::int64_t dim);
  Tensor forward(const Tensor& indices) override;
  std::string type_name() const override { return "Embedding"; }
  std::string extra_repr() const override;

  Tensor weight;  // [num_embeddings, dim], initialized N(0, 1) as in PyTorch
};

}  // namespace lamina::nn
