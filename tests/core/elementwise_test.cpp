#include <gtest/gtest.h>

#include "core/gradcheck.h"

using namespace lamina;
using lamina::testing::gradcheck;
using lamina::testing::kGradTolerance;
using lamina::testing::leaf;

TEST(ElementwiseGradCheck, BinaryOpsWithBroadcasting) {
  const Tensor a = leaf({3, 4}, 1), b = leaf({4}, 2, 0.5, 2.0), c = leaf({3, 1}, 3, 0.5, 2.0);
  EXPECT_LT(gradcheck([](auto& x) { return add(x[0], x[1]); }, {a, b}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return sub(x[0], x[1]); }, {a, c}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return mul(x[0], x[1]); }, {a, b}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return div(x[0], x[1]); }, {a, c}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return maximum(x[0], x[1]); }, {a, leaf({3, 4}, 9)}), kGradTolerance);
}

TEST(ElementwiseGradCheck, ScalarOps) {
  const Tensor a = leaf({2, 3}, 4, 0.5, 2.0);
  EXPECT_LT(gradcheck([](auto& x) { return x[0] + 2.0; }, {a}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return 3.0 - x[0]; }, {a}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return x[0] * 1.5; }, {a}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return x[0] / 3.0; }, {a}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return 2.0 / x[0]; }, {a}), kGradTolerance);
}

TEST(ElementwiseGradCheck, UnaryOps) {
  const Tensor a = leaf({2, 5}, 5);  // values in [-1, 1): away from kinks with probability 1
  const Tensor pos = leaf({2, 5}, 6, 0.2, 2.0);
  EXPECT_LT(gradcheck([](auto& x) { return neg(x[0]); }, {a}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return abs(x[0]); }, {a}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return exp(x[0]); }, {a}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return log(x[0]); }, {pos}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return sqrt(x[0]); }, {pos}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return pow(x[0], 3.0); }, {a}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return pow(x[0], -1.5); }, {pos}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return clamp(x[0], -0.5, 0.5); }, {a}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return relu(x[0]); }, {a}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return sigmoid(x[0]); }, {a}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return tanh(x[0]); }, {a}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return gelu(x[0]); }, {a}), kGradTolerance);
}

TEST(ElementwiseGradCheck, Where) {
  const Tensor cond = from_vector<double>({1, 0, 1, 0, 0, 1}, {2, 3});
  EXPECT_LT(gradcheck([&](auto& x) { return where(cond, x[0], x[1]); }, {leaf({2, 3}, 7), leaf({3}, 8)}), kGradTolerance);
}

TEST(Elementwise, BroadcastValues) {
  const Tensor a = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor col = from_vector<float>({10, 20}, {2, 1});
  EXPECT_EQ(add(a, col).to_vector<float>(), (std::vector<float>{11, 12, 13, 24, 25, 26}));
  EXPECT_EQ(add(a.t(), from_vector<float>({1, 2}, {2})).to_vector<float>(), (std::vector<float>{2, 6, 3, 7, 4, 8}));
  EXPECT_EQ(gt(a, full({}, 3.0)).to_vector<float>(), (std::vector<float>{0, 0, 0, 1, 1, 1}));
}

TEST(Elementwise, MismatchedShapesNameBoth) {
  try {
    add(zeros({2, 3}), zeros({4}));
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[4]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("add"), std::string::npos) << e.what();
  }
  EXPECT_THROW(add(zeros({2}), zeros({2}, {.dtype = DType::Float64})), std::invalid_argument);
}
