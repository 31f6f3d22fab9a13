#pragma once
// Pooling modules over [N, C, H, W]: max and average pooling with a window, and adaptive average pooling to a fixed
// output size (GlobalAvgPool2d: to 1x1, then flattened to [N, C]).
#include <optional>

#include <lamina/core/conv.h>
#include <lamina/nn/module.h>

namespace lamina::nn {

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(IntPair kernel, std::optional<IntPair> stride = std::nullopt, IntPair padding = 0)
      : kernel_(kernel), stride_(stride), padding_(padding) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override { return "kernel=" + kernel_.str(); }

 private:
  IntPair kernel_;
  std::optional<IntPair> stride_;
  IntPair padding_;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(IntPair kernel, std::optional<IntPair> stride = std::nullopt, IntPair padding = 0)
      : kernel_(kernel), stride_(stride), padding_(padding) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override { return "kernel=" + kernel_.str(); }

 private:
  IntPair kernel_;
  std::optional<IntPair> stride_;
  IntPair padding_;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(IntPair output_size) : output_size_(output_size) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override { return "output=" + output_size_.str(); }

 private:
  IntPair output_size_;
};

// Average over all of H and W: [N, C, H, W] -> [N, C].
class GlobalAvgPool2d : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "GlobalAvgPool2d"; }
};

}  // namespace lamina::nn
