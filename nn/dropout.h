#pragma once
// Dropout: in training, zeroes each element with probability p and scales the rest by 1/(1-p); the identity in
// eval mode. The mask is drawn from lamina's default generator, so a seed fixes it.
#include <lamina/nn/module.h>

namespace lamina::nn {

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override { return "p=" + std::to_string(p_); }

 private:
  double p_;
};

}  // namespace lamina::nn
