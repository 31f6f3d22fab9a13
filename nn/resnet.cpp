#include <lamina/nn/resnet.h>

#include <lamina/core/elementwise.h>

namespace lamina::nn {

BasicBlock::BasicBlock(std::int64_t in, std::int64_t out, std::int64_t stride)
    : conv1_(this, "conv1", out, 3, Conv2dLayerOptions{.in_channels = in, .stride = stride, .padding = 1, .bias = false}),
      bn1_(this, "bn1", out),
      conv2_(this, "conv2", out, 3, Conv2dLayerOptions{.in_channels = out, .padding = 1, .bias = false}),
      bn2_(this, "bn2", out) {
  if (stride != 1 || in != out) {
    shortcut_ = register_module("shortcut", std::make_shared<Sequential>(
                                                Conv2d(out, 1, {.in_channels = in, .stride = stride, .bias = false}),
                                                BatchNorm2d(out)));
  }
}

Tensor BasicBlock::forward(const Tensor& x) {
  const Tensor h = bn2_(conv2_(relu(bn1_(conv1_(x)))));
  return relu(h + (shortcut_ ? (*shortcut_)(x) : x));
}

ResNet18::ResNet18(ResNetOptions o)
    : stem_(this, "stem", Conv2d(o.width, 3, {.in_channels = o.in_channels, .padding = 1, .bias = false}),
            BatchNorm2d(o.width), ReLU()),
      stages_(this, "stages"),
      pool_(this, "pool"),
      fc_(this, "fc", o.num_classes, LinearOptions{.in_features = 8 * o.width}) {
  std::int64_t channels = o.width;
  for (int stage = 0; stage < 4; ++stage) {
    const std::int64_t out = o.width << stage;
    const std::int64_t stride = stage == 0 ? 1 : 2;
    stages_->add(BasicBlock(channels, out, stride), BasicBlock(out, out, 1));
    channels = out;
  }
}

Tensor ResNet18::forward(const Tensor& x) { return fc_(pool_(stages_(stem_(x)))); }

}  // namespace lamina::nn
