#include <gtest/gtest.h>

#include <lamina/lamina.h>

#include "expect.h"

using namespace lamina;
using lamina::testing::expect_contains;
using lamina::testing::message_of;

namespace {
}  // namespace

TEST(ModuleDeferred, LinearInfersInputWidthAtFirstForward) {
  nn::Linear layer(256);
  EXPECT_TRUE(layer.weight.is_deferred());
  const Tensor w_handle = layer.weight;  // a handle taken before materialization sees the materialized tensor
  layer(rand({4, 20}));
  EXPECT_FALSE(layer.weight.is_deferred());
  EXPECT_EQ(w_handle.shape(), (Shape{256, 20}));
  EXPECT_EQ(layer.bias.shape(), (Shape{256}));
}

TEST(ModuleDeferred, TouchingAnUnmaterializedParameterIsAClearError) {
  nn::Linear layer(8);
  expect_contains(message_of<std::exception>([&] { sum(layer.weight); }), {"deferred"});
  expect_contains(message_of<std::exception>([&] { layer.state_dict(); }), {"'weight'"});
}

TEST(ModuleDeferred, InputWidthChangeAfterMaterializationIsAnError) {
  nn::Linear layer(8);
  layer(rand({2, 5}));
  const std::string msg = message_of<std::exception>([&] { layer(rand({2, 6})); });
  expect_contains(msg, {"[2, 6]"});
}

TEST(ModuleDeferred, InitializeAppliesToParametersMaterializedLater) {
  nn::Sequential net(nn::Linear(3, {.in_features = 4}), nn::Linear(5));
  net.initialize(nn::init::constant(0.25));
  EXPECT_EQ(net.named_parameters()[0].second.to_vector<float>(), std::vector<float>(12, 0.25f));
  net(rand({2, 4}));
  const Tensor late = net.named_parameters()[2].second;  // 1.weight, materialized at the forward
  EXPECT_EQ(late.shape(), (Shape{5, 3}));
  EXPECT_EQ(late.to_vector<float>(), std::vector<float>(15, 0.25f));
}

TEST(ModuleStateDict, RoundTripCopiesValues) {
  manual_seed(1);
  nn::Sequential a(nn::Linear(3, {.in_features = 4}), nn::Linear(2, {.in_features = 3}));
  manual_seed(2);
  nn::Sequential b(nn::Linear(3, {.in_features = 4}), nn::Linear(2, {.in_features = 3}));
  b.load_state_dict(a.state_dict());
  const Tensor x = rand({5, 4});
  EXPECT_EQ(a(x).to_vector<float>(), b(x).to_vector<float>());
  // Loaded by value: changing a afterwards does not change b.
  a.parameters()[0].fill_(7.0);
  EXPECT_NE(a(x).to_vector<float>(), b(x).to_vector<float>());
}

TEST(ModuleStateDict, StrictLoadReportsEveryProblemAndChangesNothing) {
  nn::Sequential model(nn::Linear(3, {.in_features = 4}), nn::Linear(2, {.in_features = 3}));
  const std::vector<float> before = model.parameters()[0].to_vector<float>();
  nn::StateDict bad;
  bad.insert("0.weight", zeros({3, 4}));             // fine
  bad.insert("0.bias", zeros({7}));                  // wrong shape
  bad.insert("1.weight", zeros({2, 3}));             // fine
  bad.insert("2.weight", zeros({1}));                // unexpected; 1.bias missing
  const std::string msg = message_of<std::exception>([&] { model.load_state_dict(bad); });
  expect_contains(msg, {"missing keys: 1.bias"});
  expect_contains(msg, {"unexpected keys: 2.weight"});
  expect_contains(msg, {"0.bias (checkpoint [7], model [3])"});
  EXPECT_EQ(model.parameters()[0].to_vector<float>(), before);
}

TEST(ModuleStateDict, NonStrictLoadSkipsMissingAndUnexpected) {
  nn::Linear layer(2, {.in_features = 2});
  nn::StateDict partial;
  partial.insert("weight", ones({2, 2}));
  partial.insert("extra", ones({1}));
  layer.load_state_dict(partial, /*strict=*/false);
  EXPECT_EQ(layer.weight.to_vector<float>(), std::vector<float>(4, 1.0f));
}

TEST(ModuleTree, SharedModuleAndParameterAppearOnce) {
  auto shared = std::make_shared<nn::Linear>(4, nn::LinearOptions{.in_features = 4});
  nn::Sequential net;
  net.add(shared, nn::ReLU(), shared);
  EXPECT_EQ(net.parameters().size(), 2u);
  EXPECT_EQ(net.named_parameters()[0].first, "0.weight");
  EXPECT_EQ(net.named_modules().size(), 3u);  // net, the shared Linear, the ReLU
}

TEST(ModuleTree, DuplicateNamesAreRejected) {
  struct Twice : nn::Module {
    Twice() {
      register_module("a", std::make_shared<nn::ReLU>());
      register_module("a", std::make_shared<nn::ReLU>());
    }
  };
  expect_contains(message_of<std::exception>([] { Twice t; }), {"'a' is already registered"});
}

TEST(ModuleTree, TrainEvalReachesEveryModule) {
  nn::Sequential net{nn::Sequential(nn::ReLU()), nn::ReLU()};
  net.eval();
  for (auto& [name, m] : net.named_modules()) EXPECT_FALSE(m->is_training()) << name;
  net.train();
  for (auto& [name, m] : net.named_modules()) EXPECT_TRUE(m->is_training()) << name;
}

TEST(ModuleTree, ToDtypeKeepsHandlesValid) {
  nn::Linear layer(3, {.in_features = 2});
  const Tensor handle = layer.weight;
  layer.to(DType::Float64);
  EXPECT_EQ(handle.dtype(), DType::Float64);
  EXPECT_EQ(layer(rand({1, 2}, {.dtype = DType::Float64})).dtype(), DType::Float64);
}

TEST(ModuleTree, ToCudaWithoutBackendIsAClearError) {
  nn::Linear layer(3, {.in_features = 2});
  expect_contains(message_of<std::exception>([&] { layer.to(Device::cuda(0)); }), {"cuda:0"});
  EXPECT_EQ(layer.weight.device(), Device::cpu());
}

TEST(ModuleTree, SummaryShowsShapesAndCounts) {
  nn::Sequential net(nn::Linear(256, nn::Activation::ReLU), nn::Linear(10));
  const std::string s = net.summary(rand({2, 20}));
  expect_contains(s, {"0: Linear(in=20, out=256, activation=relu)"});
  expect_contains(s, {"[2, 256]"});
  expect_contains(s, {"[2, 10]"});
  expect_contains(s, {"total parameters: 7946"});
}

TEST(ModuleTree, UserModuleWithoutForwardSaysSo) {
  struct Empty : nn::Module {};
  Empty e;
  expect_contains(message_of<std::exception>([&] { e(zeros({1})); }), {"does not implement forward"});
}

TEST(ModuleDeferred, InitializeCanSelectParametersByName) {
  nn::Sequential net(nn::Linear(3, {.in_features = 4}), nn::Linear(2));
  net.initialize(nn::init::constant(0.5), [](const std::string& name) { return name == "weight"; });
  net(rand({1, 4}));
  for (const auto& [name, p] : net.named_parameters()) {
    const bool is_weight = name.ends_with("weight");
    EXPECT_EQ(p.to_vector<float>() == std::vector<float>(p.numel(), 0.5f), is_weight) << name;
  }
}
