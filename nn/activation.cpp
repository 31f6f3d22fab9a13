#include <lamina/nn/activation.h>

#include <lamina/core/elementwise.h>

namespace lamina::nn {

Tensor activate(const Tensor& x, Activation activation) {
  switch (activation) {
    case Activation::None: return x;
    case Activation::ReLU: return relu(x);
    case Activation::Sigmoid: return sigmoid(x);
    case Activation::Tanh: return tanh(x);
    case Activation::GELU: return gelu(x);
  }
  return x;
}

std::string activation_name(Activation activation) {
  switch (activation) {
    case Activation::None: return "none";
    case Activation::ReLU: return "relu";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Tanh: return "tanh";
    case Activation::GELU: return "gelu";
  }
  return "?";
}

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }
Tensor GELU::forward(const Tensor& x) { return gelu(x); }

}  // namespace lamina::nn
