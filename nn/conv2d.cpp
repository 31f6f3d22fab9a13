#include <lamina/nn/conv2d.h>

#include <stdexcept>

namespace lamina::nn {
namespace {
// PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels * kh * kw, read off the weight.
Initializer default_weight_init() {
  return [](Tensor& t, Generator& gen) { init::uniform_fan_in(fan_in_and_out(t.shape()).first)(t, gen); };
}
}  // namespace

Conv2d::Conv2d(std::int64_t out_channels, IntPair kernel_size, Conv2dLayerOptions options)
    : out_channels_(out_channels), kernel_(kernel_size), options_(options) {
  if (out_channels <= 0 || kernel_size.h <= 0 || kernel_size.w <= 0)
    throw std::invalid_argument("Conv2d: out_channels and kernel size must be positive, got " + std::to_string(out_channels) +
                                " and " + kernel_size.str());
  weight = register_parameter("weight", {out_channels, options.in_channels, kernel_.h, kernel_.w}, default_weight_init());
  if (options.bias) {
    bias = register_parameter("bias", {options.in_channels < 0 ? -1 : out_channels}, [w = weight](Tensor& t, Generator& gen) {
      init::uniform_fan_in(fan_in_and_out(w.shape()).first)(t, gen);
    });
  }
}

Tensor Conv2d::forward(const Tensor& x) {
  if (x.dim() != 4) throw std::invalid_argument("Conv2d: expected [N, C, H, W] input, got shape " + shape_str(x.shape()));
  if (weight.is_deferred()) {
    materialize("weight", {out_channels_, x.size(1), kernel_.h, kernel_.w});
    if (options_.bias) materialize("bias", {out_channels_});
  }
  const Tensor y = conv2d(x, weight, bias, {options_.stride, options_.padding, options_.dilation});
  return activate(y, options_.activation);
}

std::string Conv2d::extra_repr() const {
  std::string s = (weight.is_deferred() ? std::string("?") : std::to_string(weight.shape()[1])) + ", " +
                  std::to_string(out_channels_) + ", kernel=" + kernel_.str();
  if (options_.stride.h != 1 || options_.stride.w != 1) s += ", stride=" + options_.stride.str();
  if (options_.padding.h != 0 || options_.padding.w != 0) s += ", padding=" + options_.padding.str();
  if (options_.activation != Activation::None) s += ", activation=" + activation_name(options_.activation);
  return s;
}

}  // namespace lamina::nn
