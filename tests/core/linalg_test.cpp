#include <gtest/gtest.h>

#include "expect.h"
#include "core/gradcheck.h"

using namespace lamina;
using lamina::testing::expect_near;
using lamina::testing::expect_contains;
using lamina::testing::message_of;
using lamina::testing::gradcheck;
using lamina::testing::kGradTolerance;
using lamina::testing::leaf;

namespace {

// The naive triple loop, for comparing against GEMM: a [m, k] · b [k, n], both read through their strides.
std::vector<double> reference_mm(const Tensor& a, const Tensor& b) {
  const std::int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  const std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  std::vector<double> c(m * n, 0.0);
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t p = 0; p < k; ++p) c[i * n + j] += va[i * k + p] * vb[p * n + j];
  return c;
}

}  // namespace

TEST(Linalg, MatmulValues) {
  // Reference (PyTorch): a = arange(6.).reshape(2, 3), b = arange(12.).reshape(3, 4) - 5, v = [1, -2, 3]
  const Tensor a = arange(0, 6, 1, {.dtype = DType::Float64}).reshape({2, 3});
  const Tensor b = sub(arange(0, 12, 1, {.dtype = DType::Float64}).reshape({3, 4}), full({}, 5.0, {.dtype = DType::Float64}));
  const Tensor v = from_vector<double>({1, -2, 3}, {3});
  EXPECT_EQ(matmul(a, b).to_vector<double>(), (std::vector<double>{5, 8, 11, 14, -4, 8, 20, 32}));
  EXPECT_EQ(matmul(v, b).shape(), (Shape{4}));
  EXPECT_EQ(matmul(v, b).to_vector<double>(), (std::vector<double>{6, 8, 10, 12}));
  EXPECT_EQ(matmul(a, v).to_vector<double>(), (std::vector<double>{4, 10}));
  EXPECT_EQ(matmul(v, v).dim(), 0);
  EXPECT_EQ(matmul(v, v).item(), 14.0);
  // A = arange(24.).reshape(2, 3, 4) / 10, B = arange(8.).reshape(4, 2) - 3: (A @ B) in float64
  const Tensor A = div(arange(0, 24, 1, {.dtype = DType::Float64}).reshape({2, 3, 4}), 10.0);
  const Tensor B = add(arange(0, 8, 1, {.dtype = DType::Float64}).reshape({4, 2}), -3.0);
  expect_near(matmul(A, B).to_vector<double>(), {1.0, 1.6, 1.0, 3.2, 1.0, 4.8, 1.0, 6.4, 1.0, 8.0, 1.0, 9.6});
  EXPECT_EQ(matmul(A, B).shape(), (Shape{2, 3, 2}));
}

TEST(Linalg, BatchedAndBroadcastShapes) {
  EXPECT_EQ(matmul(zeros({5, 2, 3}), zeros({5, 3, 4})).shape(), (Shape{5, 2, 4}));
  EXPECT_EQ(matmul(zeros({2, 1, 2, 3}), zeros({4, 3, 5})).shape(), (Shape{2, 4, 2, 5}));
  EXPECT_EQ(matmul(zeros({2, 3}), zeros({4, 3, 5})).shape(), (Shape{4, 2, 5}));
  EXPECT_EQ(matmul(zeros({3}), zeros({4, 3, 5})).shape(), (Shape{4, 5}));
  EXPECT_EQ(matmul(zeros({4, 2, 3}), zeros({3})).shape(), (Shape{4, 2}));
}

TEST(Linalg, BatchedMatmulMatchesPerBatchProducts) {
  // Every batch of a broadcast 4-d · 3-d product equals the 2-d product of the matching batches, for plain,
  // transposed and broadcast operands.
  const Tensor a = leaf({2, 1, 3, 4}, 1).detach();
  const Tensor b = leaf({3, 5, 4}, 2).detach().transpose(-1, -2);  // [3, 4, 5], not contiguous
  const Tensor c = matmul(a, b);
  ASSERT_EQ(c.shape(), (Shape{2, 3, 3, 5}));
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j)
      expect_near(c.select(0, i).select(0, j).to_vector<double>(), reference_mm(a.select(0, i).select(0, 0), b.select(0, j)));
}

TEST(Linalg, TransposedViewsAreNotCopiedAndGiveTheSameProduct) {
  const Tensor a = leaf({4, 3}, 3).detach();
  const Tensor b = leaf({5, 4}, 4).detach();
  expect_near(matmul(a.t(), b.t()).to_vector<double>(), reference_mm(a.t(), b.t()));
  expect_near(matmul(b, a).to_vector<double>(), reference_mm(b, a));
  // A sliced (strided, not transposable) operand goes through a copy and is still right.
  const Tensor s = leaf({4, 6}, 5).detach().slice(1, 0, 6, 2);  // [4, 3], strides [6, 2]
  expect_near(matmul(s.t(), b.t()).to_vector<double>(), reference_mm(s.t(), b.t()));
}

TEST(Linalg, LinearValues) {
  // Reference: F.linear(arange(6.).reshape(2, 3), w=[[1, 0, -1], [2, 1, 0]], b=[0.5, -1]) -> [[-1.5, 0], [-1.5, 9]]
  const Tensor x = arange(0, 6, 1, {.dtype = DType::Float64}).reshape({2, 3});
  const Tensor w = from_vector<double>({1, 0, -1, 2, 1, 0}, {2, 3});
  const Tensor bias = from_vector<double>({0.5, -1}, {2});
  EXPECT_EQ(linear(x, w, bias).to_vector<double>(), (std::vector<double>{-1.5, 0, -1.5, 9}));
  EXPECT_EQ(linear(x, w).to_vector<double>(), (std::vector<double>{-2, 1, -2, 10}));
  EXPECT_EQ(linear(x.reshape({1, 2, 3}), w, bias).shape(), (Shape{1, 2, 2}));
  EXPECT_EQ(linear(x.select(0, 1), w, bias).to_vector<double>(), (std::vector<double>{-1.5, 9}));
}

TEST(Linalg, ErrorsNameTheOpAndShapes) {
  expect_contains(message_of<std::invalid_argument>([] { matmul(zeros({2, 3}), zeros({4, 5})); }), {"matmul", "[2, 3]", "[4, 5]"});
  expect_contains(message_of<std::invalid_argument>([] { matmul(zeros({3}), zeros({4})); }), {"matmul", "[3]", "[4]"});
  expect_contains(message_of<std::invalid_argument>([] { matmul(zeros({2, 2, 3}), zeros({3, 3, 2})); }),
                  {"matmul", "[2]", "[3]"});
  expect_contains(message_of<std::invalid_argument>([] { matmul(zeros({2, 3}), zeros({3, 2}, {.dtype = DType::Float64})); }),
                  {"matmul", "float32", "float64"});
  expect_contains(message_of<std::invalid_argument>([] { matmul(zeros({}), zeros({3})); }), {"matmul", "float32 []"});
  expect_contains(message_of<std::invalid_argument>([] { linear(zeros({2, 3}), zeros({4, 5})); }),
                  {"linear", "[2, 3]", "[4, 5]", "3 features"});
  expect_contains(message_of<std::invalid_argument>([] { linear(zeros({2, 3}), zeros({4, 3}), zeros({3})); }),
                  {"linear", "bias", "[3]", "4 output"});
}

TEST(LinalgGradCheck, Matmul2dAnd1d) {
  EXPECT_LT(gradcheck([](auto& x) { return matmul(x[0], x[1]); }, {leaf({2, 3}, 10), leaf({3, 4}, 11)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return matmul(x[0], x[1]); }, {leaf({3}, 12), leaf({3, 4}, 13)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return matmul(x[0], x[1]); }, {leaf({2, 3}, 14), leaf({3}, 15)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return matmul(x[0], x[1]); }, {leaf({5}, 16), leaf({5}, 17)}), kGradTolerance);
}

TEST(LinalgGradCheck, MatmulBatched) {
  EXPECT_LT(gradcheck([](auto& x) { return matmul(x[0], x[1]); }, {leaf({2, 3, 4}, 20), leaf({2, 4, 2}, 21)}), kGradTolerance);
  // Broadcast batch: 3-d · 2-d (one GEMM over all rows) and 4-d · 3-d.
  EXPECT_LT(gradcheck([](auto& x) { return matmul(x[0], x[1]); }, {leaf({2, 3, 4}, 22), leaf({4, 2}, 23)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return matmul(x[0], x[1]); }, {leaf({2, 1, 2, 3}, 24), leaf({3, 3, 2}, 25)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return matmul(x[0], x[1]); }, {leaf({2, 4}, 26), leaf({3, 4, 2}, 27)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return matmul(x[0], x[1]); }, {leaf({4}, 28), leaf({3, 4, 2}, 29)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return matmul(x[0], x[1]); }, {leaf({3, 2, 4}, 30), leaf({4}, 31)}), kGradTolerance);
}

TEST(LinalgGradCheck, MatmulTransposedOperands) {
  EXPECT_LT(gradcheck([](auto& x) { return matmul(x[0].t(), x[1]); }, {leaf({3, 2}, 40), leaf({3, 4}, 41)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return matmul(x[0], x[1].t()); }, {leaf({2, 3}, 42), leaf({4, 3}, 43)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return matmul(x[0].t(), x[1].t()); }, {leaf({3, 2}, 44), leaf({4, 3}, 45)}), kGradTolerance);
  // Batched with transposed matrices, and a non-contiguous 3-d · 2-d (takes the per-batch path).
  EXPECT_LT(gradcheck([](auto& x) { return matmul(x[0].transpose(1, 2), x[1]); }, {leaf({2, 4, 3}, 46), leaf({2, 4, 2}, 47)}),
            kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return matmul(x[0].transpose(0, 1), x[1].t()); }, {leaf({3, 2, 4}, 48), leaf({5, 4}, 49)}),
            kGradTolerance);
  // The same tensor as both operands.
  EXPECT_LT(gradcheck([](auto& x) { return matmul(x[0], x[0].t()); }, {leaf({3, 4}, 50)}), kGradTolerance);
}

TEST(LinalgGradCheck, Linear) {
  EXPECT_LT(gradcheck([](auto& x) { return linear(x[0], x[1], x[2]); }, {leaf({4, 3}, 60), leaf({2, 3}, 61), leaf({2}, 62)}),
            kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return linear(x[0], x[1]); }, {leaf({4, 3}, 63), leaf({2, 3}, 64)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return linear(x[0], x[1], x[2]); }, {leaf({2, 3, 5}, 65), leaf({4, 5}, 66), leaf({4}, 67)}),
            kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return linear(x[0], x[1], x[2]); }, {leaf({5}, 68), leaf({4, 5}, 69), leaf({4}, 70)}),
            kGradTolerance);
  // A transposed input and a weight that is itself a transposed view.
  EXPECT_LT(gradcheck([](auto& x) { return linear(x[0].t(), x[1].t(), x[2]); }, {leaf({3, 4}, 71), leaf({3, 2}, 72), leaf({2}, 73)}),
            kGradTolerance);
}

TEST(LinalgGradCheck, LinearWithFrozenParts) {
  // Only some inputs require grad: the others get no gradient and the rest is still right.
  const Tensor w = leaf({2, 3}, 81).detach();
  EXPECT_LT(gradcheck([&](auto& x) { return linear(x[0], w, x[1]); }, {leaf({4, 3}, 80), leaf({2}, 82)}), kGradTolerance);
  const Tensor input = leaf({4, 3}, 83).detach();
  EXPECT_LT(gradcheck([&](auto& x) { return linear(input, x[0]); }, {leaf({2, 3}, 84)}), kGradTolerance);
}

TEST(LinalgGradCheck, LinearRelu) {
  // Values in [-1, 1): some outputs negative, none within reach of the kink at the finite-difference step.
  EXPECT_LT(gradcheck([](auto& x) { return linear_relu(x[0], x[1], x[2]); }, {leaf({4, 3}, 90), leaf({5, 3}, 91), leaf({5}, 92)}),
            kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return linear_relu(x[0], x[1]); }, {leaf({2, 3, 5}, 93), leaf({4, 5}, 94)}), kGradTolerance);
  const Tensor w = leaf({3, 4}, 95).detach();
  EXPECT_LT(gradcheck([&](auto& x) { return linear_relu(x[0], w, x[1]); }, {leaf({6, 4}, 96), leaf({3}, 97)}), kGradTolerance);
}

// The fused op gives what relu(linear(...)) gives: bit for bit in the output and the gradients of x and the
// weight (the same GEMMs, the same per-element steps); the bias gradient sums in another order.
TEST(Linalg, LinearReluEqualsReluOfLinear) {
  Generator gen(98);
  // 150 rows: the bias gradient's sum runs over blocks of 64 rows and a partial one.
  const Tensor x = rand({150, 7}, {}, -1, 1, &gen), w = rand({6, 7}, {}, -1, 1, &gen), b = rand({6}, {}, -1, 1, &gen);
  const Tensor g = rand({150, 6}, {}, -1, 1, &gen);
  std::vector<std::vector<float>> results[2];
  for (int fused = 0; fused < 2; ++fused) {
    const Tensor xi = x.clone().requires_grad_(), wi = w.clone().requires_grad_(), bi = b.clone().requires_grad_();
    const Tensor y = fused ? linear_relu(xi, wi, bi) : relu(linear(xi, wi, bi));
    sum(mul(y, g)).backward();
    results[fused] = {y.to_vector<float>(), xi.grad().to_vector<float>(), wi.grad().to_vector<float>(), bi.grad().to_vector<float>()};
  }
  const char* what[] = {"output", "grad x", "grad weight", "grad bias"};
  for (int k = 0; k < 3; ++k) EXPECT_EQ(results[1][k], results[0][k]) << what[k];
  for (std::size_t i = 0; i < results[1][3].size(); ++i) EXPECT_NEAR(results[1][3][i], results[0][3][i], 1e-5) << what[3] << " " << i;
  std::size_t zeros_seen = 0;
  for (float v : results[1][0]) zeros_seen += v == 0.0f;
  EXPECT_GT(zeros_seen, 0u);  // the ReLU cut something
  expect_contains(message_of<std::invalid_argument>([] { linear_relu(zeros({2, 3}), zeros({4, 5})); }),
                  {"linear_relu", "[2, 3]", "[4, 5]", "3 features"});
}

