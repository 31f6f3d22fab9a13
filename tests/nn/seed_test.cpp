// The seed text's examples (shared/SEED.md), as tests: shapes, parameter names and counts, and gradients checked
// against finite differences.
#include <gtest/gtest.h>

#include "../../examples/seed_models.h"
#include "nn/module_gradcheck.h"

using namespace lamina;
using lamina::testing::module_gradcheck;

namespace {
std::vector<std::string> names(const nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& [name, t] : m.named_parameters()) out.push_back(name);
  return out;
}
std::int64_t count(const nn::Module& m) {
  std::int64_t n = 0;
  for (const Tensor& t : m.parameters()) n += t.numel();
  return n;
}
Tensor input_x() { return rand({2, 20}); }
}  // namespace

TEST(SeedSequential, BuiltInSequential) {
  nn::Sequential net;
  net.add(nn::Linear(256, nn::Activation::ReLU));
  net.add(nn::Linear(10));
  EXPECT_EQ(net(input_x()).shape(), (Shape{2, 10}));
  EXPECT_EQ(names(net), (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias"}));
  EXPECT_EQ(count(net), 20 * 256 + 256 + 256 * 10 + 10);
}

TEST(SeedSequential, ConstructFromListAndAddSeveral) {
  nn::Sequential a(nn::Linear(8), nn::ReLU(), nn::Linear(3));
  nn::Sequential b;
  b.add(nn::Linear(8), nn::ReLU(), nn::Linear(3));
  EXPECT_EQ(a(input_x()).shape(), (Shape{2, 3}));
  EXPECT_EQ(names(a), names(b));
  EXPECT_EQ(a.size(), 3u);
}

TEST(SeedMLP, ChildrenRegisterThemselves) {
  seed::MLP net;
  EXPECT_EQ(net(input_x()).shape(), (Shape{2, 10}));
  EXPECT_EQ(names(net), (std::vector<std::string>{"hidden.weight", "hidden.bias", "out.weight", "out.bias"}));
  EXPECT_EQ(net.state_dict().keys(), names(net));
  EXPECT_EQ(net.hidden->weight.shape(), (Shape{256, 20}));
}

TEST(SeedMLP, GradientsMatchFiniteDifferences) {
  seed::MLP net;
  net(input_x());
  net.to(DType::Float64);
  Tensor x = input_x().to(DType::Float64).requires_grad_();
  EXPECT_LT(module_gradcheck(net, x), 1e-6);
}

TEST(SeedMySequential, BehavesLikeTheBuiltIn) {
  manual_seed(5);
  seed::MySequential mine;
  mine.add(nn::Linear(256, nn::Activation::ReLU)).add(nn::Linear(10));
  manual_seed(5);
  nn::Sequential builtin(nn::Linear(256, nn::Activation::ReLU), nn::Linear(10));
  const Tensor x = input_x();
  manual_seed(7);
  const Tensor y1 = mine(x);
  manual_seed(7);
  const Tensor y2 = builtin(x);
  EXPECT_EQ(names(mine), names(builtin));
  EXPECT_EQ(y1.to_vector<float>(), y2.to_vector<float>());
}

TEST(SeedFixedHiddenMLP, ConstantIsNotTrainedAndSharedLayerSumsGradients) {
  seed::FixedHiddenMLP net;
  Tensor y = net(input_x());
  EXPECT_EQ(y.dim(), 0);
  EXPECT_LE(std::abs(y.item()), 1.0 + 1e-6);
  EXPECT_EQ(names(net), (std::vector<std::string>{"linear.weight", "linear.bias"}));
  EXPECT_FALSE(net.rand_weight.requires_grad());
  EXPECT_TRUE(net.state_dict().contains("rand_weight"));
  y.backward();
  EXPECT_FALSE(net.rand_weight.grad().defined());
  EXPECT_TRUE(net.linear->weight.grad().defined());
}

TEST(SeedFixedHiddenMLP, GradientsMatchFiniteDifferences) {
  seed::FixedHiddenMLP net;
  net(input_x());
  net.to(DType::Float64);
  Tensor x = input_x().to(DType::Float64).requires_grad_();
  EXPECT_LT(module_gradcheck(net, x), 1e-6);
}

TEST(SeedFixedHiddenMLP, SharedLayerGradientIsTheSumOfBothUses) {
  // Two separate layers holding copies of the shared weights get gradients g1 and g2; the shared layer gets g1 + g2.
  nn::Linear shared(4, {.in_features = 4});
  nn::Linear first(4, {.in_features = 4}), second(4, {.in_features = 4});
  first.load_state_dict(shared.state_dict());
  second.load_state_dict(shared.state_dict());
  const Tensor x = rand({3, 4});
  shared(shared(x)).sum().backward();
  second(first(x)).sum().backward();
  const auto expected = add(first.weight.grad(), second.weight.grad()).to_vector<float>();
  const auto actual = shared.weight.grad().to_vector<float>();
  for (std::size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-5);
}

TEST(SeedNestMLP, ChimeraFindsEveryParameterOnceWithStableNames) {
  nn::Sequential chimera = seed::make_chimera();
  const Tensor y = chimera(input_x());
  EXPECT_EQ(y.dim(), 0);
  EXPECT_EQ(names(chimera), (std::vector<std::string>{"0.net.0.weight", "0.net.0.bias", "0.net.1.weight", "0.net.1.bias",
                                                      "0.linear.weight", "0.linear.bias", "1.weight", "1.bias",
                                                      "2.linear.weight", "2.linear.bias"}));
  EXPECT_EQ(count(chimera), (20 * 64 + 64) + (64 * 32 + 32) + (32 * 16 + 16) + (16 * 20 + 20) + (20 * 20 + 20));
  EXPECT_EQ(chimera.state_dict().size(), 11u);  // ten parameters and the constant
}

TEST(SeedNestMLP, ChimeraGradientsMatchFiniteDifferences) {
  nn::Sequential chimera = seed::make_chimera();
  chimera(input_x());
  chimera.to(DType::Float64);
  Tensor x = input_x().to(DType::Float64).requires_grad_();
  EXPECT_LT(module_gradcheck(chimera, x), 1e-6);
}
