#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <lamina/core/dropout.h>

#include "core/gradcheck.h"

using namespace lamina;
using lamina::testing::gradcheck;
using lamina::testing::kGradTolerance;
using lamina::testing::leaf;

TEST(DropoutGradCheck, Training) {
  // A fresh generator per call: every evaluation of the function draws the same mask.
  EXPECT_LT(gradcheck([](auto& x) { Generator gen(7); return dropout(x[0], 0.4, true, &gen); }, {leaf({4, 5}, 1)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { Generator gen(8); return dropout(x[0].t(), 0.5, true, &gen); }, {leaf({3, 6}, 2)}), kGradTolerance);
}

TEST(DropoutGradCheck, AllDropped) {
  EXPECT_LT(gradcheck([](auto& x) { return dropout(x[0], 1.0, true); }, {leaf({3, 2}, 3)}), kGradTolerance);
}

TEST(Dropout, DropsAboutPAndScalesSurvivors) {
  Generator gen(1);
  const std::int64_t n = 200000;
  const Tensor x = ones({n});
  const std::vector<float> y = dropout(x, 0.3, true, &gen).to_vector<float>();
  std::int64_t zeros_seen = 0;
  double total = 0;
  for (float v : y) {
    if (v == 0.0f) ++zeros_seen;
    else EXPECT_FLOAT_EQ(v, static_cast<float>(1.0 / 0.7));
    total += v;
  }
  // The dropped fraction has standard deviation sqrt(0.3 * 0.7 / n) ~ 0.001: allow 5 of them.
  EXPECT_NEAR(static_cast<double>(zeros_seen) / n, 0.3, 0.005);
  // Inverted dropout keeps the expectation.
  EXPECT_NEAR(total / n, 1.0, 0.01);
}

TEST(Dropout, NeighbouringElementsAreIndependent) {
  // Element i and i + 1 share a Philox counter when they fall in one block of four: the words must still be
  // independent. With p = 0.5, each of the four (kept, kept) patterns of a pair has probability 1/4.
  Generator gen(2);
  const std::int64_t n = 100000;
  const std::vector<float> y = dropout(ones({n}), 0.5, true, &gen).to_vector<float>();
  std::int64_t both = 0;
  for (std::int64_t i = 0; i + 1 < n; i += 2) both += (y[i] != 0 && y[i + 1] != 0);
  EXPECT_NEAR(static_cast<double>(both) / (n / 2), 0.25, 0.01);
}

TEST(Dropout, ReproducibleFromSeedAndState) {
  const Tensor x = ones({1000});
  Generator a(42), b(42);
  const std::vector<float> first = dropout(x, 0.5, true, &a).to_vector<float>();
  EXPECT_EQ(first, dropout(x, 0.5, true, &b).to_vector<float>());
  // The next call draws a new mask; restoring the state draws that same mask again.
  const GeneratorState saved = a.state();
  const std::vector<float> second = dropout(x, 0.5, true, &a).to_vector<float>();
  EXPECT_NE(first, second);
  a.set_state(saved);
  EXPECT_EQ(second, dropout(x, 0.5, true, &a).to_vector<float>());
  Generator c(43);
  EXPECT_NE(first, dropout(x, 0.5, true, &c).to_vector<float>());
}

TEST(Dropout, SameMaskOnAnyThreadCount) {
  const Tensor x = ones({3 * kParallelGrain + 5});
  const int threads = num_threads();
  set_num_threads(1);
  Generator a(5);
  const std::vector<float> serial = dropout(x, 0.2, true, &a).to_vector<float>();
  set_num_threads(2);
  Generator b(5);
  const std::vector<float> parallel = dropout(x, 0.2, true, &b).to_vector<float>();
  set_num_threads(threads);
  EXPECT_EQ(serial, parallel);
}

TEST(Dropout, UnalignedGeneratorOffsetDoesNotReuseDraws) {
  // After 3 draws the offset is mid-counter; the mask must start on a fresh counter, not reuse those draws.
  Generator gen(11);
  rand({3}, {}, 0, 1, &gen);
  const std::uint64_t before = gen.state().offset;
  const std::vector<float> y = dropout(ones({10}), 0.5, true, &gen).to_vector<float>();
  EXPECT_GE(gen.state().offset, before + 10);
  Generator again(11);
  rand({3}, {}, 0, 1, &again);
  EXPECT_EQ(y, dropout(ones({10}), 0.5, true, &again).to_vector<float>());
}

TEST(Dropout, BackwardUsesTheForwardMask) {
  Generator gen(3);
  Tensor x = from_vector<double>(std::vector<double>(64, 2.0), {8, 8}, true);
  const Tensor y = dropout(x, 0.25, true, &gen);
  y.sum().backward();
  const std::vector<double> out = y.to_vector<double>(), grad = x.grad().to_vector<double>();
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_DOUBLE_EQ(grad[i], out[i] / 2.0) << "at " << i;
}

TEST(Dropout, IdentityInEvalOrZeroP) {
  const Tensor x = from_vector<float>({1, 2, 3}, {3});
  const std::uint64_t offset = default_generator().state().offset;
  EXPECT_TRUE(dropout(x, 0.5, false).is_same(x));
  EXPECT_TRUE(dropout(x, 0.0, true).is_same(x));
  EXPECT_EQ(default_generator().state().offset, offset);  // no draws consumed
}

TEST(Dropout, POneGivesZeros) {
  const Tensor x = from_vector<float>({1, -2, std::numeric_limits<float>::infinity()}, {3});
  EXPECT_EQ(dropout(x, 1.0, true).to_vector<float>(), (std::vector<float>{0, 0, 0}));
}

TEST(Dropout, POutsideUnitIntervalIsAnError) {
  for (double p : {-0.1, 1.5, std::nan("")}) {
    try {
      dropout(zeros({2, 3}), p, true);
      FAIL() << "expected an exception for p = " << p;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("dropout"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("[0, 1]"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("float32 [2, 3]"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(dropout(zeros({2}), 2.0, false), std::invalid_argument);  // checked in eval too
  EXPECT_THROW(dropout(zeros({2}, {.dtype = DType::Int64}), 0.5, true), std::invalid_argument);
}
