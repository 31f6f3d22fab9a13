#include <gtest/gtest.h>

#include <lamina/lamina.h>
#include <lamina/nn/lenet.h>
#include <lamina/nn/mlp.h>
#include <lamina/nn/resnet.h>

#include "nn/module_gradcheck.h"

using namespace lamina;
using lamina::testing::module_gradcheck;

namespace {
std::int64_t count(const nn::Module& m) {
  std::int64_t n = 0;
  for (const Tensor& t : m.parameters()) n += t.numel();
  return n;
}
}  // namespace

TEST(Models, LeNetHasTheClassicShape) {
  nn::LeNet net;
  EXPECT_EQ(net(rand({3, 1, 28, 28})).shape(), (Shape{3, 10}));
  // conv 6@5x5 (156) + conv 16@5x5 (2416) + 400->120 (48120) + 120->84 (10164) + 84->10 (850)
  EXPECT_EQ(count(net), 61706);
}

TEST(Models, ResNet18HasResNet18sParameterCount) {
  nn::ResNet18 net;
  // torchvision's ResNet-18 body with the small-image stem (3x3 conv on 1 channel) and a 10-way classifier.
  EXPECT_EQ(count(net), 11172810);
  EXPECT_EQ(net(rand({2, 1, 28, 28})).shape(), (Shape{2, 10}));
}

TEST(Models, MlpSummaryListsLayers) {
  nn::MLP net;
  const std::string s = net.summary(rand({4, 1, 28, 28}));
  EXPECT_NE(s.find("Linear(in=784, out=256, activation=relu)"), std::string::npos) << s;
  EXPECT_NE(s.find("total parameters: 203530"), std::string::npos) << s;
}

TEST(ModelsGradCheck, LeNetWithBatchNormAndMaxPool) {
  nn::LeNet net({.activation = nn::Activation::ReLU, .pooling = nn::Pooling::Max, .batch_norm = true});
  net(rand({4, 1, 28, 28}));
  net.to(DType::Float64);
  Tensor x = rand({4, 1, 28, 28}, {.dtype = DType::Float64});
  EXPECT_LT(module_gradcheck(net, x, 6), 1e-6);
}

TEST(ModelsGradCheck, TinyResNet) {
  nn::ResNet18 net({.width = 2, .in_channels = 1, .num_classes = 3});
  net(rand({2, 1, 8, 8}));
  net.to(DType::Float64);
  Tensor x = rand({2, 1, 8, 8}, {.dtype = DType::Float64});
  EXPECT_LT(module_gradcheck(net, x, 4), 1e-6);
}
