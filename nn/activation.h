#pragma once
// Activation modules, and the Activation choice that Linear and Conv2d can apply to their output (as Gluon's
// Dense(256, activation='relu')).
#include <string>

#include <lamina/nn/module.h>

namespace lamina::nn {

enum class Activation { None, ReLU, Sigmoid, Tanh, GELU };

Tensor activate(const Tensor& x, Activation activation);
std::string activation_name(Activation activation);

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ReLU"; }
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sigmoid"; }
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Tanh"; }
};

class GELU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "GELU"; }
};

}  // namespace lamina::nn
