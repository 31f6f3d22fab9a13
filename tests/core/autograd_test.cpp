#include <gtest/gtest.h>

#include <lamina/lamina.h>

#include "expect.h"

using namespace lamina;
using lamina::testing::expect_contains;
using lamina::testing::message_of;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

}  // namespace

TEST(Autograd, SharedLeafAccumulatesBothPaths) {
  Tensor x = from_vector<double>({1, 2, 3}, {3}, true);
  Tensor y = (x * x + x * 3.0).sum();
  y.backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{5, 7, 9}));
}

TEST(Autograd, DiamondGraphSumsBothBranches) {
  // y = (2x) * exp(x): dy/dx = 2 exp(x) + 2x exp(x)
  Tensor x = from_vector<double>({0.5, -1}, {2}, true);
  Tensor a = x * 2.0;
  Tensor b = exp(x);
  (a * b).sum().backward();
  const std::vector<double> g = values(x.grad());
  EXPECT_NEAR(g[0], 2 * std::exp(0.5) * 1.5, 1e-12);
  EXPECT_NEAR(g[1], 2 * std::exp(-1.0) * 0.0, 1e-12);
}

TEST(Autograd, WhileLoopOnTensorValues) {
  Tensor x = from_vector<double>({3, -4}, {2}, true);
  Tensor y = x * 1.0;
  int halvings = 0;
  while (y.abs().sum().item() > 1) {
    y = y / 2;
    ++halvings;
  }
  y.sum().backward();
  EXPECT_EQ(halvings, 3);
  EXPECT_EQ(values(x.grad()), (std::vector<double>{0.125, 0.125}));
}

TEST(Autograd, RetainGraphAllowsASecondBackwardAndGradientsAccumulate) {
  Tensor x = from_vector<double>({1, 2}, {2}, true);
  Tensor y = (x * x).sum();
  y.backward({}, /*retain_graph=*/true);
  EXPECT_EQ(values(x.grad()), (std::vector<double>{2, 4}));
  y.backward({}, /*retain_graph=*/true);
  EXPECT_EQ(values(x.grad()), (std::vector<double>{4, 8}));
  y.backward();  // the last one frees the graph
  EXPECT_EQ(values(x.grad()), (std::vector<double>{6, 12}));
  expect_contains(message_of<std::runtime_error>([&] { y.backward(); }), {"sum", "freed", "retain_graph"});
}

TEST(Autograd, SecondBackwardWithoutRetainGraphSaysTheGraphWasFreed) {
  Tensor x = from_vector<double>({1, 2}, {2}, true);
  Tensor y = exp(x * 3.0).sum();
  y.backward();
  const std::vector<double> first = values(x.grad());
  expect_contains(message_of<std::runtime_error>([&] { y.backward(); }), {"second time", "freed", "retain_graph=true"});
  // A graph that shares only a leaf with the freed one still works.
  (x * 1.0).sum().backward();
  EXPECT_EQ(values(x.grad())[0], first[0] + 1);
}

TEST(Autograd, NonScalarBackwardNeedsAGradientNamingTheShape) {
  Tensor x = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}, true);
  Tensor y = x * 2.0;
  expect_contains(message_of<std::invalid_argument>([&] { y.backward(); }), {"backward", "non-scalar", "[2, 3]"});
  expect_contains(message_of<std::invalid_argument>([&] { y.backward(ones({3, 2}, {.dtype = DType::Float64})); }),
                  {"backward", "[3, 2]", "[2, 3]"});
  // The failed calls left the graph intact.
  y.backward(ones({2, 3}, {.dtype = DType::Float64}));
  EXPECT_EQ(values(x.grad()), std::vector<double>(6, 2.0));
}

TEST(Autograd, BackwardWithAnExplicitGradient) {
  Tensor x = from_vector<double>({1, 2, 3}, {3}, true);
  Tensor y = x * x;
  Tensor g = from_vector<double>({1, 0.5, -1}, {3});
  y.backward(g);
  EXPECT_EQ(values(x.grad()), (std::vector<double>{2, 2, -6}));  // 2x * g
  // The leaf owns its gradient: changing the seed afterwards does not change it.
  Tensor z = from_vector<double>({1, 1}, {2}, true);
  Tensor seed = from_vector<double>({3, 4}, {2});
  z.clone().backward(seed);
  seed.fill_(0.0);
  EXPECT_EQ(values(z.grad()), (std::vector<double>{3, 4}));
  Tensor w = from_vector<double>({1, 1}, {2}, true);
  w.backward(seed);  // backward on the leaf itself
  seed.fill_(9.0);
  EXPECT_EQ(values(w.grad()), (std::vector<double>{0, 0}));
}

TEST(Autograd, DetachStopsGradients) {
  Tensor x = from_vector<double>({1, 2, 3}, {3}, true);
  Tensor d = x.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_EQ(d.grad_fn(), nullptr);
  EXPECT_EQ(d.storage().data(), x.storage().data());  // same data, no history
  (x * x.detach()).sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{1, 2, 3}));  // only the non-detached path: d(x*c)/dx = c
  Tensor y = (x * 2.0).detach();
  EXPECT_FALSE(y.requires_grad());
  expect_contains(message_of<std::invalid_argument>([&] { y.sum().backward(); }), {"backward", "does not require grad"});
}

TEST(Autograd, NoGradGuardRecordsNothing) {
  Tensor x = from_vector<double>({1, 2}, {2}, true);
  EXPECT_TRUE(GradMode::is_enabled());
  {
    NoGradGuard no_grad;
    EXPECT_FALSE(GradMode::is_enabled());
    Tensor y = matmul(x, x) + 1.0;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
    EXPECT_EQ(x.reshape({2, 1}).grad_fn(), nullptr);
    {
      NoGradGuard nested;
    }
    EXPECT_FALSE(GradMode::is_enabled());  // the inner guard restores "off", not "on"
  }
  EXPECT_TRUE(GradMode::is_enabled());
  Tensor z = x * 2.0;
  EXPECT_TRUE(z.requires_grad());
  ASSERT_NE(z.grad_fn(), nullptr);
  EXPECT_EQ(z.grad_fn()->name, "mul_scalar");
}

TEST(Autograd, PostAccumulateHookRunsOncePerBackwardWithTheCompleteGradient) {
  Tensor x = from_vector<double>({1, 2, 3}, {3}, true);
  int calls = 0;
  std::vector<double> seen;
  bool same_tensor = false;
  x.register_post_accumulate_grad_hook([&](Tensor& t) {
    ++calls;
    seen = values(t.grad());
    same_tensor = t.is_same(x);
  });
  // x reaches the loss on two paths of different depth; the hook must see the sum, once.
  Tensor y = (exp(log(x * x)) + x * 3.0).sum();
  y.backward();
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(same_tensor);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_NEAR(seen[0], 5, 1e-12);
  EXPECT_NEAR(seen[1], 7, 1e-12);
  EXPECT_NEAR(seen[2], 9, 1e-12);
  // A second backward (a new graph) runs it again, after accumulating into the existing gradient.
  (x * 2.0).sum().backward();
  EXPECT_EQ(calls, 2);
  EXPECT_NEAR(seen[0], 7, 1e-12);
  EXPECT_NEAR(seen[2], 11, 1e-12);
}

TEST(Autograd, HooksOfSeveralLeavesEachRunOnce) {
  Tensor w = from_vector<double>({1, 2}, {2}, true);
  Tensor b = from_vector<double>({0.5}, {1}, true);
  std::vector<std::string> order;
  w.register_post_accumulate_grad_hook([&](Tensor&) { order.push_back("w"); });
  b.register_post_accumulate_grad_hook([&](Tensor&) { order.push_back("b"); });
  b.register_post_accumulate_grad_hook([&](Tensor&) { order.push_back("b2"); });
  (w * b + w).sum().backward();
  std::sort(order.begin(), order.end());
  EXPECT_EQ(order, (std::vector<std::string>{"b", "b2", "w"}));
}

TEST(Autograd, ARemovedHookNoLongerRuns) {
  Tensor w = from_vector<double>({1, 2}, {2}, true);
  std::vector<std::string> ran;
  const std::uint64_t first = w.register_post_accumulate_grad_hook([&](Tensor&) { ran.push_back("first"); });
  w.register_post_accumulate_grad_hook([&](Tensor&) { ran.push_back("second"); });
  w.remove_post_accumulate_grad_hook(first);
  w.remove_post_accumulate_grad_hook(first);  // a second removal, or an unknown key, does nothing
  (w * 2.0).sum().backward();
  EXPECT_EQ(ran, (std::vector<std::string>{"second"}));
}

TEST(Autograd, HooksAndRequiresGradOnlyOnLeaves) {
  Tensor x = from_vector<double>({1, 2}, {2}, true);
  Tensor y = x * 2.0;
  expect_contains(message_of<std::invalid_argument>([&] { y.requires_grad_(); }), {"requires_grad_", "leaf", "mul_scalar"});
  expect_contains(message_of<std::invalid_argument>([&] { y.register_post_accumulate_grad_hook([](Tensor&) {}); }),
                  {"register_post_accumulate_grad_hook", "leaf"});
  expect_contains(message_of<std::invalid_argument>([] { zeros({2}, {.dtype = DType::Int64}).requires_grad_(); }),
                  {"requires_grad_", "int64"});
  // A detached non-leaf is a leaf again.
  Tensor z = y.detach().requires_grad_();
  EXPECT_TRUE(z.requires_grad());
  EXPECT_TRUE(z.is_leaf());
}

TEST(Autograd, GraphIsFreedWithItsOutput) {
  // Saved tensors are detached, so no node keeps itself alive through its output.
  Tensor x = from_vector<double>({1, 2}, {2}, true);
  std::weak_ptr<Node> node;
  {
    Tensor y = exp(x) * x;
    node = y.grad_fn();
    EXPECT_FALSE(node.expired());
  }
  EXPECT_TRUE(node.expired());
}

TEST(Autograd, IntermediateTensorsGetNoGradButLeavesDo) {
  Tensor x = from_vector<double>({1, 2}, {2}, true);
  Tensor frozen = from_vector<double>({3, 4}, {2});
  Tensor h = x * frozen;
  h.sum().backward();
  EXPECT_FALSE(h.grad().defined());
  EXPECT_FALSE(frozen.grad().defined());
  EXPECT_EQ(values(x.grad()), (std::vector<double>{3, 4}));
}

namespace {

// An op with a weight and a bias that can compute their gradients into grad destinations.
struct GradDestinationCase {
  std::string op;
  Shape weight_shape;
  Tensor x, weights;  // weights weighs the outputs, so no two gradients are equal

  GradDestinationCase(std::string name, std::int64_t out_channels) : op(std::move(name)) {
    const auto f64 = TensorOptions{.dtype = DType::Float64};
    if (op == "conv2d") {
      // 17 output channels take the im2col path, 3 the direct one.
      weight_shape = {out_channels, 2, 3, 3};
      x = randn({2, 2, 5, 5}, f64);
      weights = randn({2, out_channels, 5, 5}, f64);
    } else {
      weight_shape = {out_channels, 4};
      x = randn({5, 4}, f64);
      weights = randn({5, out_channels}, f64);
    }
  }
  Tensor loss(const Tensor& weight, const Tensor& bias) const {
    const Tensor y = op == "conv2d"        ? conv2d(x, weight, bias, {.padding = 1})
                     : op == "linear_relu" ? linear_relu(x, weight, bias)
                                           : linear(x, weight, bias);
    return (y * weights).sum();
  }
};

}  // namespace

TEST(Autograd, WeightAndBiasGradientsAreWrittenIntoTheirGradDestinations) {
  // linear writes only its weight's gradient in place; its bias gradient is a sum, in a new tensor.
  const std::vector<std::tuple<std::string, std::int64_t, bool>> cases = {
      {"linear", 3, false}, {"linear_relu", 3, true}, {"conv2d", 3, true}, {"conv2d", 17, true}};
  for (const auto& [op, out_channels, bias_in_place] : cases) {
    SCOPED_TRACE(op + " with " + std::to_string(out_channels) + " outputs");
    GradDestinationCase c(op, out_channels);
    Tensor weight = randn(c.weight_shape, {.dtype = DType::Float64}).requires_grad_();
    Tensor bias = randn({out_channels}, {.dtype = DType::Float64}).requires_grad_();
    Tensor plain_weight = weight.detach().clone().requires_grad_(), plain_bias = bias.detach().clone().requires_grad_();
    c.loss(plain_weight, plain_bias).backward();
    const std::vector<double> expected = values(plain_weight.grad()), expected_bias = values(plain_bias.grad());
    Tensor destination = zeros(c.weight_shape, {.dtype = DType::Float64});
    Tensor bias_destination = zeros({out_channels}, {.dtype = DType::Float64});
    weight.set_grad_destination(destination);
    bias.set_grad_destination(bias_destination);

    c.loss(weight, bias).backward();
    EXPECT_EQ(weight.grad().storage().data(), destination.storage().data());
    EXPECT_EQ(bias.grad().storage().data() == bias_destination.storage().data(), bias_in_place);
    EXPECT_EQ(values(weight.grad()), expected);
    EXPECT_EQ(values(bias.grad()), expected_bias);

    // With a gradient already there, the next backward accumulates into it, in place (a different loss, so that
    // overwriting and then adding could not give the same sum).
    (c.loss(weight, bias) * 0.5).backward();
    EXPECT_EQ(weight.grad().storage().data(), destination.storage().data());
    for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_DOUBLE_EQ(values(weight.grad())[i], 1.5 * expected[i]);

    // Set to none, the gradient is written anew into the destination, not added to what it held.
    weight.set_grad(Tensor());
    bias.set_grad(Tensor());
    c.loss(weight, bias).backward();
    EXPECT_EQ(weight.grad().storage().data(), destination.storage().data());
    EXPECT_EQ(values(destination), expected);
    EXPECT_EQ(values(bias.grad()), expected_bias);
  }
}

TEST(Autograd, ALeafUsedTwiceGetsBothPathsThoughOnlyOneCanUseItsGradDestination) {
  const GradDestinationCase linear_case("linear", 3), relu_case("linear_relu", 3);
  Tensor weight = randn({3, 4}, {.dtype = DType::Float64}).requires_grad_();
  const auto two_paths = [&](const Tensor& w) { return linear_case.loss(w, {}) + relu_case.loss(w, {}) * 0.5; };
  Tensor plain = weight.detach().clone().requires_grad_();
  two_paths(plain).backward();
  Tensor destination = zeros({3, 4}, {.dtype = DType::Float64});
  weight.set_grad_destination(destination);
  two_paths(weight).backward();
  const std::vector<double> expected = values(plain.grad()), got = values(weight.grad());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-12);
}

TEST(Autograd, AGradDestinationMustMatchItsLeaf) {
  Tensor weight = zeros({3, 4}).requires_grad_();
  expect_contains(message_of<std::invalid_argument>([&] { weight.set_grad_destination(zeros({4, 3})); }), {"set_grad_destination", "[4, 3]", "[3, 4]"});
  expect_contains(message_of<std::invalid_argument>([&] { weight.set_grad_destination(zeros({3, 4}, {.dtype = DType::Float64})); }),
                  {"set_grad_destination", "float64"});
  expect_contains(message_of<std::invalid_argument>([&] { weight.set_grad_destination(zeros({4, 3}).t()); }), {"contiguous"});
  expect_contains(message_of<std::invalid_argument>([&] { (weight * 2.0).set_grad_destination(zeros({3, 4})); }), {"only a leaf"});
}
