#pragma once
// MLP: flatten, then Linear layers with an activation between them. The input width is inferred at the first
// forward, so the same model takes [N, 784] or [N, 1, 28, 28].
#include <cstdint>
#include <vector>

#include <lamina/nn/activation.h>
#include <lamina/nn/sequential.h>

namespace lamina::nn {

struct MLPOptions {
  std::vector<std::int64_t> hidden = {256};
  std::int64_t num_classes = 10;
  Activation activation = Activation::ReLU;
};

class MLP : public Sequential {
 public:
  explicit MLP(MLPOptions options = {});
  std::string type_name() const override { return "MLP"; }
};

}  // namespace lamina::nn
