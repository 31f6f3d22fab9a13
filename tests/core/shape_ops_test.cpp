#include <gtest/gtest.h>

#include <lamina/core/shape_ops.h>

#include "expect.h"
#include "core/gradcheck.h"

using namespace lamina;
using lamina::testing::expect_contains;
using lamina::testing::message_of;
using lamina::testing::gradcheck;
using lamina::testing::kGradTolerance;
using lamina::testing::leaf;

namespace {

Tensor longs(const std::vector<std::int64_t>& values, const Shape& shape) { return from_vector<std::int64_t>(values, shape); }

}  // namespace

// --- cat / stack ---

TEST(ShapeOps, CatValues) {
  const Tensor a = from_vector<float>({1, 2, 3, 4}, {2, 2});
  const Tensor b = from_vector<float>({5, 6}, {2, 1});
  const Tensor c = from_vector<float>({7, 8}, {1, 2});
  EXPECT_EQ(cat({a, b}, 1).shape(), (Shape{2, 3}));
  EXPECT_EQ(cat({a, b}, 1).to_vector<float>(), (std::vector<float>{1, 2, 5, 3, 4, 6}));
  EXPECT_EQ(cat({a, c}, 0).to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 7, 8}));
  EXPECT_EQ(cat({a, c}, -2).shape(), (Shape{3, 2}));
  // A transposed (non-contiguous) input is read through its strides.
  EXPECT_EQ(cat({a.t(), b}, 1).to_vector<float>(), (std::vector<float>{1, 3, 5, 2, 4, 6}));
  EXPECT_EQ(cat({a}, 0).to_vector<float>(), a.to_vector<float>());
}

TEST(ShapeOps, StackValues) {
  const Tensor a = from_vector<float>({1, 2, 3}, {3});
  const Tensor b = from_vector<float>({4, 5, 6}, {3});
  EXPECT_EQ(stack({a, b}, 0).shape(), (Shape{2, 3}));
  EXPECT_EQ(stack({a, b}, 0).to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(stack({a, b}, 1).shape(), (Shape{3, 2}));
  EXPECT_EQ(stack({a, b}, -1).to_vector<float>(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST(ShapeOps, CatAndStackErrorsNameOpAndShapes) {
  expect_contains(message_of<std::invalid_argument>([] { cat({zeros({2, 3}), zeros({3, 3})}, 1); }),
                  {"cat", "[2, 3]", "[3, 3]", "dimension 1"});
  expect_contains(message_of<std::invalid_argument>([] { cat({zeros({2, 3}), zeros({2, 3, 1})}, 0); }),
                  {"cat", "[2, 3]", "[2, 3, 1]"});
  expect_contains(message_of<std::invalid_argument>([] { cat({zeros({2}), zeros({2}, {.dtype = DType::Float64})}, 0); }),
                  {"cat", "float32", "float64"});
  expect_contains(message_of<std::invalid_argument>([] { cat({}, 0); }), {"cat", "empty"});
  expect_contains(message_of<std::out_of_range>([] { cat({zeros({2, 3})}, 2); }), {"cat", "dimension 2"});
  expect_contains(message_of<std::invalid_argument>([] { stack({zeros({2, 3}), zeros({3, 2})}, 0); }),
                  {"stack", "[2, 3]", "[3, 2]"});
  expect_contains(message_of<std::out_of_range>([] { stack({zeros({2, 3})}, 3); }), {"stack", "dimension 3"});
}

TEST(ShapeOpsGradCheck, Cat) {
  EXPECT_LT(gradcheck([](auto& x) { return cat({x[0], x[1], x[2]}, 1); }, {leaf({2, 3}, 1), leaf({2, 1}, 2), leaf({2, 4}, 3)}),
            kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return cat({x[0], x[1]}, 0); }, {leaf({2, 3, 2}, 4), leaf({1, 3, 2}, 5)}), kGradTolerance);
  // Middle dimension of a 3-d tensor, with a transposed operand.
  EXPECT_LT(gradcheck([](auto& x) { return cat({x[0], x[1].transpose(0, 2)}, 1); }, {leaf({2, 3, 4}, 6), leaf({4, 2, 2}, 7)}),
            kGradTolerance);
  // The same tensor twice receives both slices' gradients.
  EXPECT_LT(gradcheck([](auto& x) { return cat({x[0], x[0]}, -1); }, {leaf({3, 2}, 8)}), kGradTolerance);
}

TEST(ShapeOpsGradCheck, CatWithAnInputThatNeedsNoGrad) {
  const Tensor constant = from_vector<double>({1, 2, 3}, {1, 3});
  EXPECT_LT(gradcheck([&](auto& x) { return cat({constant, x[0]}, 0); }, {leaf({2, 3}, 9)}), kGradTolerance);
}

TEST(ShapeOpsGradCheck, Stack) {
  EXPECT_LT(gradcheck([](auto& x) { return stack({x[0], x[1]}, 0); }, {leaf({2, 3}, 10), leaf({2, 3}, 11)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return stack({x[0], x[1], x[0]}, 1); }, {leaf({2, 3}, 12), leaf({2, 3}, 13)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return stack({x[0], x[1]}, 2); }, {leaf({2, 3}, 14), leaf({2, 3}, 15)}), kGradTolerance);
}

// --- index_select / gather ---

TEST(ShapeOps, IndexSelectValues) {
  const Tensor x = from_vector<float>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {3, 4});
  EXPECT_EQ(index_select(x, 0, longs({2, 0, 2}, {3})).to_vector<float>(),
            (std::vector<float>{8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11}));
  const Tensor cols = index_select(x, 1, longs({3, 1}, {2}));
  EXPECT_EQ(cols.shape(), (Shape{3, 2}));
  EXPECT_EQ(cols.to_vector<float>(), (std::vector<float>{3, 1, 7, 5, 11, 9}));
  EXPECT_EQ(index_select(x.t(), 0, longs({1}, {1})).to_vector<float>(), (std::vector<float>{1, 5, 9}));
  EXPECT_EQ(index_select(x, 0, longs({}, {0})).shape(), (Shape{0, 4}));
}

TEST(ShapeOps, GatherValues) {
  // torch.gather(torch.tensor([[1., 2.], [3., 4.]]), 1, torch.tensor([[0, 0], [1, 0]])) -> [[1., 1.], [4., 3.]]
  const Tensor x = from_vector<float>({1, 2, 3, 4}, {2, 2});
  EXPECT_EQ(gather(x, 1, longs({0, 0, 1, 0}, {2, 2})).to_vector<float>(), (std::vector<float>{1, 1, 4, 3}));
  // dim 0: out[i][j] = x[index[i][j]][j]
  EXPECT_EQ(gather(x, 0, longs({1, 0, 0, 0}, {2, 2})).to_vector<float>(), (std::vector<float>{3, 2, 1, 2}));
  // An index smaller than the input outside `dim`, and a transposed input.
  const Tensor y = from_vector<float>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {3, 4});
  EXPECT_EQ(gather(y, 1, longs({3, 2}, {2, 1})).to_vector<float>(), (std::vector<float>{3, 6}));
  EXPECT_EQ(gather(y.t(), 1, longs({2, 0}, {2, 1})).to_vector<float>(), (std::vector<float>{8, 1}));
}

TEST(ShapeOps, OneHot) {
  const Tensor h = one_hot(longs({2, 0, 1}, {3}), 4);
  EXPECT_EQ(h.shape(), (Shape{3, 4}));
  EXPECT_EQ(h.dtype(), DType::Int64);
  EXPECT_EQ(h.to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(one_hot(longs({1, 0}, {2, 1}), 2).shape(), (Shape{2, 1, 2}));
  expect_contains(message_of<std::out_of_range>([] { one_hot(longs({0, 5}, {2}), 3); }), {"one_hot", "5", "3 classes"});
  expect_contains(message_of<std::invalid_argument>([] { one_hot(zeros({2}), 3); }), {"one_hot", "int64", "float32 [2]"});
}

TEST(ShapeOps, OutOfRangeIndexNamesOpValueDimAndSize) {
  const Tensor x = zeros({3, 4});
  expect_contains(message_of<std::out_of_range>([&] { index_select(x, 1, longs({0, 4}, {2})); }),
                  {"index_select", "index 4", "dimension 1", "size 4", "[3, 4]"});
  expect_contains(message_of<std::out_of_range>([&] { index_select(x, 0, longs({-1}, {1})); }),
                  {"index_select", "index -1", "dimension 0", "size 3"});
  expect_contains(message_of<std::out_of_range>([&] { gather(x, 0, longs({0, 7}, {1, 2})); }),
                  {"gather", "index 7", "dimension 0", "size 3"});
  expect_contains(message_of<std::out_of_range>([&] { gather(x, -1, longs({-2}, {1, 1})); }),
                  {"gather", "index -2", "dimension 1", "size 4"});
}

TEST(ShapeOps, BadIndexTensorsAreRejected) {
  const Tensor x = zeros({3, 4});
  expect_contains(message_of<std::invalid_argument>([&] { index_select(x, 0, zeros({2})); }), {"index_select", "int64", "float32 [2]"});
  expect_contains(message_of<std::invalid_argument>([&] { index_select(x, 0, longs({0, 1}, {1, 2})); }),
                  {"index_select", "1-d", "int64 [1, 2]"});
  expect_contains(message_of<std::invalid_argument>([&] { gather(x, 0, longs({0, 1}, {2})); }), {"gather", "int64 [2]", "[3, 4]"});
  expect_contains(message_of<std::invalid_argument>([&] { gather(x, 0, longs({0, 0, 0, 0, 0}, {1, 5})); }),
                  {"gather", "[1, 5]", "[3, 4]", "dimension 1"});
}

TEST(ShapeOpsGradCheck, IndexSelect) {
  const Tensor repeated = longs({2, 0, 2, 1, 2}, {5});
  EXPECT_LT(gradcheck([&](auto& x) { return index_select(x[0], 0, repeated); }, {leaf({3, 4}, 20)}), kGradTolerance);
  EXPECT_LT(gradcheck([&](auto& x) { return index_select(x[0], 1, longs({3, 3, 0}, {3})); }, {leaf({2, 4, 3}, 21)}),
            kGradTolerance);
  EXPECT_LT(gradcheck([&](auto& x) { return index_select(x[0], -1, repeated); }, {leaf({2, 2, 3}, 22)}), kGradTolerance);
  EXPECT_LT(gradcheck([&](auto& x) { return index_select(x[0].t(), 0, longs({1, 1}, {2})); }, {leaf({3, 2}, 23)}),
            kGradTolerance);
}

TEST(ShapeOpsGradCheck, Gather) {
  // Repeated indices: the gradient of a position picked twice is the sum.
  const Tensor idx1 = longs({0, 0, 2, 1, 1, 1, 3, 0, 2}, {3, 3});
  EXPECT_LT(gradcheck([&](auto& x) { return gather(x[0], 1, idx1); }, {leaf({3, 4}, 30)}), kGradTolerance);
  const Tensor idx0 = longs({2, 0, 1, 2, 2, 2}, {2, 3});
  EXPECT_LT(gradcheck([&](auto& x) { return gather(x[0], 0, idx0); }, {leaf({3, 4}, 31)}), kGradTolerance);
  const Tensor idx3 = longs({1, 0, 0, 1, 1, 1, 0, 0}, {2, 2, 2});
  EXPECT_LT(gradcheck([&](auto& x) { return gather(x[0], 2, idx3); }, {leaf({2, 3, 2}, 32)}), kGradTolerance);
  EXPECT_LT(gradcheck([&](auto& x) { return gather(x[0].transpose(0, 2), 1, idx3); }, {leaf({2, 3, 2}, 33)}), kGradTolerance);
}

TEST(ShapeOps, GatherBackwardScatterAddsRepeatedPicks) {
  Tensor x = from_vector<double>({1, 2, 3, 4}, {2, 2}, true);
  gather(x, 1, longs({1, 1, 0, 1}, {2, 2})).sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 2, 1, 1}));
  Tensor y = from_vector<double>({1, 2, 3, 4}, {2, 2}, true);
  index_select(y, 0, longs({1, 1, 1}, {3})).sum().backward();
  EXPECT_EQ(y.grad().to_vector<double>(), (std::vector<double>{0, 0, 3, 3}));
}

TEST(ShapeOps, LargeInputsMatchElementwiseReference) {
  // Above kParallelGrain, so the OpenMP loops run; compared element by element with the definitions.
  Generator gen(5);
  const Tensor a = rand({300, 200}, {}, 0, 1, &gen);
  const Tensor b = rand({300, 50}, {}, 0, 1, &gen);
  const std::vector<float> va = a.to_vector<float>(), vb = b.to_vector<float>();
  const std::vector<float> joined = cat({a, b}, 1).to_vector<float>();
  ASSERT_EQ(joined.size(), 300u * 250u);
  for (std::int64_t r = 0; r < 300; ++r)
    for (std::int64_t c = 0; c < 250; ++c)
      ASSERT_EQ(joined[r * 250 + c], c < 200 ? va[r * 200 + c] : vb[r * 50 + c - 200]) << r << ", " << c;

  const Tensor perm = randperm(300, &gen);
  const std::vector<std::int64_t> p = perm.to_vector<std::int64_t>();
  const std::vector<float> rows = index_select(a, 0, perm).to_vector<float>();
  for (std::int64_t r = 0; r < 300; ++r)
    for (std::int64_t c = 0; c < 200; ++c) ASSERT_EQ(rows[r * 200 + c], va[p[r] * 200 + c]);

  std::vector<std::int64_t> iv(300 * 200);
  for (std::size_t i = 0; i < iv.size(); ++i) iv[i] = static_cast<std::int64_t>((i * 7919) % 200);
  const std::vector<float> gathered = gather(a, 1, longs(iv, {300, 200})).to_vector<float>();
  for (std::int64_t r = 0; r < 300; ++r)
    for (std::int64_t c = 0; c < 200; ++c) ASSERT_EQ(gathered[r * 200 + c], va[r * 200 + iv[r * 200 + c]]);
}
