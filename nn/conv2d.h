#pragma once
// Conv2d: 2-d convolution over [N, C, H, W] input (im2col + GEMM), with an optional activation on its output.
// in_channels may be left out: it is inferred from the first input (deferred initialization).
#include <cstdint>

#include <lamina/core/conv.h>
#include <lamina/nn/activation.h>
#include <lamina/nn/module.h>

namespace lamina::nn {

struct Conv2dLayerOptions {
  std::int64_t in_channels = -1;  // -1: inferred at the first forward
  IntPair stride = 1;
  IntPair padding = 0;
  IntPair dilation = 1;
  bool bias = true;
  Activation activation = Activation::None;
};

class Conv2d : public Module {
 public:
  Conv2d(std::int64_t out_channels, IntPair kernel_size, Conv2dLayerOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }
  std::string extra_repr() const override;

  Tensor weight;  // [out_channels, in_channels, kh, kw]
  Tensor bias;    // [out_channels], undefined without bias

 private:
  std::int64_t out_channels_;
  IntPair kernel_;
  Conv2dLayerOptions options_;
};

}  // namespace lamina::nn
