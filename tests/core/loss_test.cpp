#include <gtest/gtest.h>

#include "expect.h"

#include <cmath>

#include <lamina/core/loss.h>
#include <lamina/core/softmax.h>

#include "core/gradcheck.h"

using namespace lamina;
using lamina::testing::expect_near;
using lamina::testing::gradcheck;
using lamina::testing::kGradTolerance;
using lamina::testing::leaf;

namespace {

Tensor labels(const std::vector<std::int64_t>& v) { return from_vector<std::int64_t>(v, {static_cast<std::int64_t>(v.size())}); }

// n labels spread over [0, classes).
Tensor spread_labels(std::int64_t n, std::int64_t classes) {
  std::vector<std::int64_t> v(n);
  for (std::int64_t i = 0; i < n; ++i) v[i] = (i * 7) % classes;
  return labels(v);
}

Tensor reference_logits(bool requires_grad = false) {
  return from_vector<double>({2.0, -1.0, 0.5, 0.1, 0.2, 0.3, -3.0, 4.0, 1.0, 1.0, 1.0, 1.0}, {4, 3}, requires_grad);
}

// Runs f, expecting an exception of type E whose message contains every string in `parts`.
template <typename E, typename F>
void expect_error(F f, const std::vector<std::string>& parts) {
  try {
    f();
    FAIL() << "expected an exception";
  } catch (const E& e) {
    for (const std::string& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << "missing '" << p << "' in: " << e.what();
  }
}

}  // namespace

TEST(CrossEntropyGradCheck, EveryReduction) {
  const Tensor y = labels({0, 3, 3, 1, 2});
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    EXPECT_LT(gradcheck([&](auto& x) { return cross_entropy(x[0], y, r); }, {leaf({5, 4}, 1, -3, 3)}), kGradTolerance);
  }
}

TEST(NllLossGradCheck, EveryReductionThroughLogSoftmax) {
  const Tensor y = labels({2, 0, 1});
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    EXPECT_LT(gradcheck([&](auto& x) { return nll_loss(log_softmax(x[0], 1), y, r); }, {leaf({3, 4}, 2, -3, 3)}), kGradTolerance);
  }
}

TEST(MseLossGradCheck, BothInputs) {
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    EXPECT_LT(gradcheck([&](auto& x) { return mse_loss(x[0], x[1], r); }, {leaf({3, 4}, 3), leaf({3, 4}, 4)}), kGradTolerance);
  }
}

TEST(CrossEntropy, MatchesPyTorch) {
  // torch.nn.functional.cross_entropy(logits, labels, reduction=...) with PyTorch 1.13, float64.
  const Tensor y = labels({0, 2, 1, 2});
  EXPECT_NEAR(cross_entropy(reference_logits(), y).item(), 0.5978305108, 1e-9);
  EXPECT_NEAR(cross_entropy(reference_logits(), y, Reduction::Sum).item(), 2.391322043, 1e-9);
  expect_near(cross_entropy(reference_logits(), y, Reduction::None), {0.2413112967, 1.001942848, 0.0494556097, 1.098612289}, 1e-9);
  EXPECT_EQ(cross_entropy(reference_logits(), y, Reduction::None).shape(), (Shape{4}));
  EXPECT_EQ(cross_entropy(reference_logits(), y).dim(), 0);
}

TEST(CrossEntropy, GradientMatchesPyTorch) {
  Tensor logits = reference_logits(true);
  cross_entropy(logits, labels({0, 2, 1, 2})).backward();
  // logits.grad after cross_entropy(...).backward() in PyTorch 1.13: (softmax - onehot) / N.
  expect_near(logits.grad(),
              {-0.05360074135, 0.009778143318, 0.04382259804, 0.07515240134, 0.08305624838, -0.1582086497, 0.0002169703237,
               -0.01206314861, 0.01184617829, 0.08333333333, 0.08333333333, -0.1666666667},
              1e-10);
}

TEST(CrossEntropy, EqualsLogSoftmaxThenNll) {
  Generator gen(5);
  const Tensor x = randn({16, 10}, {.dtype = DType::Float64}, 0, 3, &gen);
  const Tensor y = spread_labels(16, 10);
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    const std::vector<double> a = cross_entropy(x, y, r).to_vector<double>();
    const std::vector<double> b = nll_loss(log_softmax(x, 1), y, r).to_vector<double>();
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-12);
  }
}

TEST(CrossEntropy, ExtremeLogitsAreFiniteAndCorrect) {
  // PyTorch 1.13, float32: cross_entropy([[1000, -1000], [-1000, 1000]], [1, 1], reduction="none") = [2000, 0].
  Tensor logits = from_vector<float>({1000, -1000, -1000, 1000}, {2, 2}, true);
  const Tensor losses = cross_entropy(logits, labels({1, 1}), Reduction::None);
  expect_near(losses, {2000, 0}, 1e-3);
  Tensor loss = cross_entropy(logits, labels({1, 1}));
  EXPECT_NEAR(loss.item(), 1000, 1e-3);
  loss.backward();
  // softmax is (1, 0) and (0, 1); minus the one-hot of label 1, halved by the mean.
  expect_near(logits.grad(), {0.5, -0.5, 0, 0}, 1e-6);
  for (float g : logits.grad().to_vector<float>()) EXPECT_TRUE(std::isfinite(g));
}

TEST(CrossEntropy, Float32LargeBatch) {
  // Big enough for the parallel loops; float32 must agree with float64.
  Generator gen(9);
  const Tensor x = randn({512, 100}, {.dtype = DType::Float64}, 0, 4, &gen);
  const Tensor y = spread_labels(512, 100);
  EXPECT_NEAR(cross_entropy(x.to(DType::Float32), y).item(), cross_entropy(x, y).item(), 1e-5);
}

// float32 (the vectorized exp, rows in blocks of 64) against float64, sample by sample and in the gradient,
// for a batch that ends in a partial block.
TEST(CrossEntropy, Float32MatchesFloat64PerSampleAndInTheGradient) {
  Generator gen(10);
  const Tensor x = randn({70, 10}, {.dtype = DType::Float64}, 0, 5, &gen);
  const Tensor y = spread_labels(70, 10);
  const Tensor x32 = x.to(DType::Float32).requires_grad_(), x64 = x.detach().requires_grad_();
  const std::vector<float> l32 = cross_entropy(x32, y, Reduction::None).to_vector<float>();
  const std::vector<double> l64 = cross_entropy(x64, y, Reduction::None).to_vector<double>();
  for (std::size_t i = 0; i < l32.size(); ++i) EXPECT_NEAR(l32[i], l64[i], 2e-6 * std::max(1.0, l64[i])) << i;
  cross_entropy(x32, y).backward();
  cross_entropy(x64, y).backward();
  const std::vector<float> g32 = x32.grad().to_vector<float>();
  const std::vector<double> g64 = x64.grad().to_vector<double>();
  for (std::size_t i = 0; i < g32.size(); ++i) EXPECT_NEAR(g32[i], g64[i], 1e-8) << i;
}

TEST(CrossEntropy, BadLabelNamesValueAndClasses) {
  expect_error<std::out_of_range>([] { cross_entropy(zeros({3, 10}), labels({1, 12, 0})); },
                                  {"cross_entropy", "label 12", "C = 10", "float32 [3, 10]"});
  expect_error<std::out_of_range>([] { cross_entropy(zeros({2, 4}), labels({-1, 0})); }, {"cross_entropy", "label -1", "C = 4"});
  expect_error<std::out_of_range>([] { nll_loss(zeros({2, 4}), labels({0, 4})); }, {"nll_loss", "label 4", "C = 4"});
}

TEST(CrossEntropy, ShapeErrorsNameBothShapes) {
  expect_error<std::invalid_argument>([] { cross_entropy(zeros({4, 10}), labels({1, 2, 3})); },
                                      {"cross_entropy", "int64 [3]", "float32 [4, 10]"});
  expect_error<std::invalid_argument>([] { cross_entropy(zeros({4, 10}), zeros({4, 1}, {.dtype = DType::Int64})); },
                                      {"cross_entropy", "int64 [4, 1]", "float32 [4, 10]"});
  expect_error<std::invalid_argument>([] { cross_entropy(zeros({10}), labels({1})); }, {"cross_entropy", "[N, C]", "float32 [10]"});
  expect_error<std::invalid_argument>([] { cross_entropy(zeros({2, 3}), zeros({2})); }, {"cross_entropy", "int64", "float32 [2]"});
}

TEST(MseLoss, MatchesPyTorch) {
  // torch.nn.functional.mse_loss(tensor([1., 2., 3.]), tensor([1.5, 0., 3.])) in PyTorch 1.13.
  const Tensor a = from_vector<float>({1, 2, 3}, {3}), b = from_vector<float>({1.5, 0, 3}, {3});
  EXPECT_NEAR(mse_loss(a, b).item(), 1.416666627, 1e-7);
  EXPECT_NEAR(mse_loss(a, b, Reduction::Sum).item(), 4.25, 1e-7);
  expect_near(mse_loss(a, b, Reduction::None), {0.25, 4, 0}, 1e-7);
}

TEST(MseLoss, ShapeAndDtypeErrors) {
  expect_error<std::invalid_argument>([] { mse_loss(zeros({2, 3}), zeros({3, 2})); }, {"mse_loss", "[2, 3]", "[3, 2]"});
  expect_error<std::invalid_argument>([] { mse_loss(zeros({2}), zeros({2}, {.dtype = DType::Float64})); },
                                      {"mse_loss", "float32 [2]", "float64 [2]"});
}
