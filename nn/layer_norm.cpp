#include <lamina/nn/layer_norm.h>

#include <lamina/core/normalization.h>

namespace lamina::nn {

LayerNorm::LayerNorm(Shape normalized_shape, LayerNormOptions options)
    : normalized_shape_(std::move(normalized_shape)), options_(options) {
  if (options.elementwise_affine) {
    weight = register_parameter("weight", normalized_shape_, init::constant(1.0));
    bias = register_parameter("bias", normalized_shape_, init::constant(0.0));
  }
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, normalized_shape_, weight, bias, options_.eps); }

}  // namespace lamina::nn
