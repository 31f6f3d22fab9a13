#pragma once
// LeNet-5 in its classic layout: conv 6@5x5 (padded) -> pool -> conv 16@5x5 -> pool -> 120 -> 84 -> classes.
// The d2l version uses sigmoid and average pooling; ReLU with max pooling (and optionally BatchNorm after each
// conv and hidden Linear) trains faster and further.
#include <lamina/nn/activation.h>
#include <lamina/nn/sequential.h>

namespace lamina::nn {

enum class Pooling { Average, Max };

struct LeNetOptions {
  Activation activation = Activation::Sigmoid;
  Pooling pooling = Pooling::Average;
  bool batch_norm = false;
  std::int64_t num_classes = 10;
};

class LeNet : public Sequential {
 public:
  explicit LeNet(LeNetOptions options = {});
  std::string type_name() const override { return "LeNet"; }
};

}  // namespace lamina::nn
