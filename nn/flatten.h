#pragma once
// Flatten: [N, d1, d2, ...] -> [N, d1 * d2 * ...] (dims start_dim..end_dim merged).
#include <lamina/nn/module.h>

namespace lamina::nn {

class Flatten : public Module {
 public:
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1) : start_dim_(start_dim), end_dim_(end_dim) {}
  Tensor forward(const Tensor& x) override { return x.flatten(start_dim_, end_dim_); }
  std::string type_name() const override { return "Flatten"; }

 private:
  std::int64_t start_dim_, end_dim_;
};

}  // namespace lamina::nn
