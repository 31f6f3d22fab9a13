#include <gtest/gtest.h>

#include "expect.h"
#include "core/gradcheck.h"

using namespace lamina;
using lamina::testing::expect_contains;
using lamina::testing::message_of;
using lamina::testing::gradcheck;
using lamina::testing::kGradTolerance;
using lamina::testing::leaf;

namespace {

Tensor iota(const Shape& shape) { return arange(0, static_cast<double>(shape_numel(shape))).reshape(shape); }

// The 3x4 matrix used for max/argmax; ties pick the first maximum, as in PyTorch.
Tensor ties() { return from_vector<float>({3, 7, 7, -1, 2, 9, 0, 9, -5, -4, -6, -4}, {3, 4}); }

}  // namespace

TEST(Reduction, SumAndMeanValues) {
  // Reference: x = torch.arange(24.).reshape(2, 3, 4)
  const Tensor x = iota({2, 3, 4});
  EXPECT_EQ(sum(x).item(), 276.0);
  EXPECT_EQ(sum(x).dim(), 0);
  EXPECT_EQ(mean(x).item(), 11.5);
  // x.sum((0, 2)) -> [60, 92, 124]; keepdim -> shape [1, 3, 1]
  EXPECT_EQ(sum(x, {0, 2}).to_vector<float>(), (std::vector<float>{60, 92, 124}));
  EXPECT_EQ(sum(x, {0, 2}, true).shape(), (Shape{1, 3, 1}));
  EXPECT_EQ(sum(x, {2, 0}, true).to_vector<float>(), (std::vector<float>{60, 92, 124}));
  EXPECT_EQ(mean(x, {0, 2}).to_vector<float>(), (std::vector<float>{7.5, 11.5, 15.5}));
  // x.mean(1) -> [[4, 5, 6, 7], [16, 17, 18, 19]]
  EXPECT_EQ(mean(x, {1}).to_vector<float>(), (std::vector<float>{4, 5, 6, 7, 16, 17, 18, 19}));
  EXPECT_EQ(sum(x, {-1}).shape(), (Shape{2, 3}));
  EXPECT_EQ(sum(x, {0, 1}).to_vector<float>(), (std::vector<float>{60, 66, 72, 78}));
  EXPECT_EQ(sum(x, {1, 2}, true).shape(), (Shape{2, 1, 1}));
  // A non-contiguous input: sums over the transposed layout.
  // x.transpose(0, 2).sum(0) -> [[6, 54], [22, 70], [38, 86]]
  EXPECT_EQ(sum(x.transpose(0, 2), {0}).to_vector<float>(), (std::vector<float>{6, 54, 22, 70, 38, 86}));
  EXPECT_EQ(sum(from_vector<std::int64_t>({1, 2, 3}, {3})).item<std::int64_t>(), 6);
}

TEST(Reduction, LongFloatSumsAccumulateInDouble) {
  // 1e7 ones in float32 would stall at 2^24 = 16777216 with a float accumulator; 2e7 must come out exact.
  EXPECT_EQ(sum(ones({20000000})).item(), 2e7);
}

TEST(Reduction, MaxAndArgmaxValues) {
  // Reference: y.max(1) -> values [7, 9, -4], indices [1, 1, 1]; y.max(0) -> [3, 9, 7, 9] at [0, 1, 0, 1];
  // y.argmax() -> 5.
  const Tensor y = ties();
  EXPECT_EQ(max(y).item(), 9.0);
  EXPECT_EQ(max(y, 1).to_vector<float>(), (std::vector<float>{7, 9, -4}));
  EXPECT_EQ(max(y, 0).to_vector<float>(), (std::vector<float>{3, 9, 7, 9}));
  EXPECT_EQ(max(y, -1, true).shape(), (Shape{3, 1}));
  EXPECT_EQ(argmax(y).item<std::int64_t>(), 5);
  EXPECT_EQ(argmax(y).dtype(), DType::Int64);
  EXPECT_EQ(argmax(y, 1).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 1, 1}));
  EXPECT_EQ(argmax(y, 0).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1, 0, 1}));
  EXPECT_EQ(argmax(y, 0, true).shape(), (Shape{1, 4}));
  EXPECT_EQ(argmax(y.t(), 1).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1, 0, 1}));
  EXPECT_EQ(argmax(iota({2, 3, 4}), 1).to_vector<std::int64_t>(), (std::vector<std::int64_t>(8, 2)));
}

TEST(Reduction, MaxGradientGoesToTheFirstMaximum) {
  Tensor y = from_vector<double>({3, 7, 7, -1, 2, 9, 0, 9, -5, -4, -6, -4}, {3, 4}, true);
  max(y, 1).sum().backward();
  EXPECT_EQ(y.grad().to_vector<double>(), (std::vector<double>{0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0}));
  Tensor z = from_vector<double>({1, 5, 5, 2}, {2, 2}, true);
  max(z).backward();
  EXPECT_EQ(z.grad().to_vector<double>(), (std::vector<double>{0, 1, 0, 0}));
}

TEST(Reduction, ErrorsNameTheOp) {
  const Tensor x = zeros({2, 3});
  expect_contains(message_of<std::out_of_range>([&] { sum(x, {2}); }), {"sum", "dimension 2", "2-d"});
  expect_contains(message_of<std::invalid_argument>([&] { sum(x, {1, -1}); }), {"sum", "twice"});
  expect_contains(message_of<std::out_of_range>([&] { mean(x, {-3}); }), {"mean", "dimension -3"});
  expect_contains(message_of<std::invalid_argument>([] { mean(zeros({2}, {.dtype = DType::Int64})); }), {"mean", "int64"});
  expect_contains(message_of<std::out_of_range>([&] { max(x, 5); }), {"max", "dimension 5"});
  expect_contains(message_of<std::invalid_argument>([] { max(zeros({0, 3}), 0); }), {"max", "empty", "[0, 3]"});
  expect_contains(message_of<std::invalid_argument>([] { argmax(zeros({0})); }), {"argmax", "empty"});
}

TEST(ReductionGradCheck, SumOverAllAndChosenDims) {
  const Tensor x = leaf({2, 3, 4}, 1);
  EXPECT_LT(gradcheck([](auto& v) { return sum(v[0]); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return sum(v[0], {1}); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return sum(v[0], {1}, true); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return sum(v[0], {0, 2}); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return sum(v[0], {0, 2}, true); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return sum(v[0], {-1, 0}); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return sum(v[0], {1, 2}); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return sum(v[0].transpose(0, 2), {1}); }, {x}), kGradTolerance);
}

TEST(ReductionGradCheck, MeanOverAllAndChosenDims) {
  const Tensor x = leaf({2, 3, 4}, 2);
  EXPECT_LT(gradcheck([](auto& v) { return mean(v[0]); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return mean(v[0], {0}); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return mean(v[0], {0, 2}); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return mean(v[0], {0, 2}, true); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return mean(v[0], {-1}, true); }, {x}), kGradTolerance);
}

TEST(ReductionGradCheck, MaxOverAllAndOverADim) {
  // Random values: no ties, so max is differentiable at the checked point.
  const Tensor x = leaf({3, 4, 2}, 3);
  EXPECT_LT(gradcheck([](auto& v) { return max(v[0]); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return max(v[0], 0); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return max(v[0], 1); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return max(v[0], -1, true); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return max(v[0].permute({2, 0, 1}), 2); }, {x}), kGradTolerance);
}
