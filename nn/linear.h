#pragma once
// Linear (Gluon's Dense): y = activation(x · weightᵀ + bias), x of shape [..., in_features].
// in_features may be left out: it is then inferred from the first input (deferred initialization).
#include <cstdint>

#include <lamina/nn/activation.h>
#include <lamina/nn/module.h>

namespace lamina::nn {

struct LinearOptions {
  std::int64_t in_features = -1;  // -1: inferred at the first forward
  bool bias = true;
  Activation activation = Activation::None;
};

class Linear : public Module {
 public:
  explicit Linear(std::int64_t out_features, LinearOptions options = {});
  Linear(std::int64_t out_features, Activation activation) : Linear(out_features, LinearOptions{.activation = activation}) {}

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;

  Tensor weight;  // [out_features, in_features]
  Tensor bias;    // [out_features], undefined without bias

 private:
  std::int64_t out_features_;
  LinearOptions options_;
};

}  // namespace lamina::nn
