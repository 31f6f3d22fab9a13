#pragma once
// LayerNorm: normalizes over the trailing dimensions `normalized_shape` of each sample, then applies a learned
// elementwise scale and shift of that shape.
#include <lamina/nn/module.h>

namespace lamina::nn {

struct LayerNormOptions {
  double eps = 1e-5;
  bool elementwise_affine = true;
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, LayerNormOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LayerNorm"; }
  std::string extra_repr() const override { return shape_str(normalized_shape_); }

  Tensor weight, bias;

 private:
  Shape normalized_shape_;
  LayerNormOptions options_;
};

}  // namespace lamina::nn
