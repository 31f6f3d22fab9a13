#include <gtest/gtest.h>

#include "core/gradcheck.h"

using namespace lamina;
using lamina::testing::gradcheck;
using lamina::testing::kGradTolerance;
using lamina::testing::leaf;

TEST(Matmul, MatrixTimesMatrix) {
  const Tensor a = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor b = from_vector<float>({1, 0, 0, 1, 1, 1}, {3, 2});
  EXPECT_EQ(matmul(a, b).to_vector<float>(), (std::vector<float>{4, 5, 10, 11}));
  EXPECT_EQ(matmul(a, b).shape(), (Shape{2, 2}));
}

TEST(Matmul, TransposedViewEqualsCopy) {
  const Tensor a = randn({5, 7});
  const Tensor b = randn({5, 3});
  EXPECT_EQ(matmul(a.t(), b).to_vector<float>(), matmul(a.t().contiguous(), b).to_vector<float>());
}

TEST(Matmul, MismatchedInnerDimensionsNameBothShapes) {
  try {
    matmul(zeros({2, 3}), zeros({4, 5}));
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("matmul"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2, 3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[4, 5]"), std::string::npos) << msg;
  }
}

TEST(MatmulGradCheck, EveryRankCombination) {
  const auto mm = [](auto& x) { return matmul(x[0], x[1]); };
  EXPECT_LT(gradcheck(mm, {leaf({3, 4}, 1), leaf({4, 2}, 2)}), kGradTolerance);
  EXPECT_LT(gradcheck(mm, {leaf({4}, 3), leaf({4}, 4)}), kGradTolerance);  // dot product: a 0-d output
  EXPECT_LT(gradcheck(mm, {leaf({4}, 5), leaf({4, 2}, 6)}), kGradTolerance);
  EXPECT_LT(gradcheck(mm, {leaf({3, 4}, 7), leaf({4}, 8)}), kGradTolerance);
  EXPECT_LT(gradcheck(mm, {leaf({2, 3, 4}, 9), leaf({4, 2}, 10)}), kGradTolerance);
  EXPECT_LT(gradcheck(mm, {leaf({2, 1, 3, 4}, 11), leaf({3, 4, 2}, 12)}), kGradTolerance);  // broadcast batch
}

TEST(LinearGradCheck, WithAndWithoutBias) {
  const Tensor x = leaf({2, 3, 4}, 1), w = leaf({5, 4}, 2), b = leaf({5}, 3);
  EXPECT_LT(gradcheck([](auto& v) { return linear(v[0], v[1], v[2]); }, {x, w, b}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return linear(v[0], v[1]); }, {x, w}), kGradTolerance);
}
