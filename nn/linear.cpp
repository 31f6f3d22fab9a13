#include <lamina/nn/linear.h>

#include <stdexcept>

#include <lamina/core/linalg.h>

namespace lamina::nn {
namespace {
// PyTorch's default: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)), with `in` taken from the weight's shape so
// that it also works when the width is only known at the first forward.
Initializer default_init() {
  return [](Tensor& t, Generator& gen) { init::uniform_fan_in(t.shape().back())(t, gen); };
}
}  // namespace

Linear::Linear(std::int64_t out_features, LinearOptions options) : out_features_(out_features), options_(options) {
  if (out_features <= 0) throw std::invalid_argument("Linear: out_features must be positive, got " + std::to_string(out_features));
  weight = register_parameter("weight", {out_features, options.in_features}, default_init());
  if (options.bias) {
    const std::int64_t in = options.in_features;
    // The bias bound depends on in_features too, so it reads the weight's width (through the weight's handle, which
    // stays valid when this module is moved); until that is known the bias is deferred with the weight.
    bias = register_parameter("bias", {in < 0 ? -1 : out_features},
                              [w = weight](Tensor& t, Generator& gen) { init::uniform_fan_in(w.shape()[1])(t, gen); });
  }
}

Tensor Linear::forward(const Tensor& x) {
  if (x.dim() < 1) throw std::invalid_argument("Linear: input must have at least one dimension, got a scalar");
  if (weight.is_deferred()) {
    materialize("weight", {out_features_, x.size(-1)});
    if (options_.bias) materialize("bias", {out_features_});
  }
  if (options_.activation == Activation::ReLU) return linear_relu(x, weight, bias);
  return activate(linear(x, weight, bias), options_.activation);
}

std::string Linear::extra_repr() const {
  std::string s = "in=" + (weight.is_deferred() ? std::string("?") : std::to_string(weight.shape()[1])) +
                  ", out=" + std::to_string(out_features_);
  if (!options_.bias) s += ", bias=false";
  if (options_.activation != Activation::None) s += ", activation=" + activation_name(options_.activation);
  return s;
}

}  // namespace lamina::nn
