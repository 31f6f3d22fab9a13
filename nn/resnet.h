#pragma once
// ResNet-18 from residual blocks: a stem, four stages of two BasicBlocks each (channels w, 2w, 4w, 8w; every stage
// after the first halves the resolution), global average pooling and a classifier. The stem is the small-image
// one (3x3 conv, no max-pooling), for 28x28 or 32x32 inputs.
#include <cstdint>

#include <lamina/nn/batch_norm.h>
#include <lamina/nn/conv2d.h>
#include <lamina/nn/linear.h>
#include <lamina/nn/module.h>
#include <lamina/nn/pooling.h>
#include <lamina/nn/sequential.h>

namespace lamina::nn {

// y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); the shortcut is a strided 1x1 conv + BN when the
// shape changes, else the identity.
class BasicBlock : public Module {
 public:
  BasicBlock(std::int64_t in_channels, std::int64_t out_channels, std::int64_t stride);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BasicBlock"; }

 private:
  Child<Conv2d> conv1_;
  Child<BatchNorm2d> bn1_;
  Child<Conv2d> conv2_;
  Child<BatchNorm2d> bn2_;
  std::shared_ptr<Sequential> shortcut_;  // null for the identity
};

struct ResNetOptions {
  std::int64_t width = 64;  // channels of the first stage
  std::int64_t in_channels = 1;
  std::int64_t num_classes = 10;
};

class ResNet18 : public Module {
 public:
  explicit ResNet18(ResNetOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ResNet18"; }

 private:
  Child<Sequential> stem_;
  Child<Sequential> stages_;
  Child<GlobalAvgPool2d> pool_;
  Child<Linear> fc_;
};

}  // namespace lamina::nn
