#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include <lamina/core/vector_math.h>

#include "core/gradcheck.h"

using namespace lamina;

namespace {

// Every 4.5e-5 from lo to hi: ~4 million float32 arguments, a few per ulp of the exponent's range.
std::vector<float> sweep(float lo, float hi) {
  std::vector<float> x;
  for (double v = lo; v < hi; v += 4.5e-5) x.push_back(static_cast<float>(v));
  return x;
}

// |got - want| in units of the last place of float32 at want (want computed in double).
double ulps(float got, double want) {
  const float w = static_cast<float>(want);
  const double ulp = std::nextafter(w, std::numeric_limits<float>::infinity()) - w;
  return std::abs(static_cast<double>(got) - want) / ulp;
}

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

}  // namespace

TEST(VectorMath, ExpWithinTwoUlpsOverFloatsNormalRange) {
  const std::vector<float> x = sweep(-87.3f, 88.7f);
  std::vector<float> y(x.size());
  cpu::exp(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, ulps(y[i], std::exp(static_cast<double>(x[i]))));
  EXPECT_LE(worst, 2.0);
  EXPECT_GT(worst, 0.0);  // the comparison saw something: not a copy of the reference
}

TEST(VectorMath, ExpSpecialValues) {
  const std::vector<float> x = {0.0f, -kInf, kInf, kNaN, -100.0f, 100.0f, 88.72f, -87.33f};
  std::vector<float> y(x.size());
  cpu::exp(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], kInf);
  EXPECT_TRUE(std::isnan(y[3]));
  EXPECT_EQ(y[4], 0.0f);
  EXPECT_EQ(y[5], kInf);
  EXPECT_LE(ulps(y[6], std::exp(static_cast<double>(88.72f))), 2.0);  // 2^128 * p: the top of the range stays finite
  EXPECT_LE(ulps(y[7], std::exp(static_cast<double>(-87.33f))), 2.0);
}

TEST(VectorMath, SigmoidWithinThreeUlps) {
  const std::vector<float> x = sweep(-87.0f, 30.0f);
  std::vector<float> y(x.size());
  cpu::sigmoid(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, ulps(y[i], 1.0 / (1.0 + std::exp(-static_cast<double>(x[i])))));
  EXPECT_LE(worst, 3.0);
  EXPECT_GT(worst, 0.0);
}

TEST(VectorMath, SigmoidSpecialValues) {
  const std::vector<float> x = {0.0f, -kInf, kInf, kNaN, -100.0f, 100.0f};
  std::vector<float> y(x.size());
  cpu::sigmoid(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
  EXPECT_EQ(y[0], 0.5f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], 1.0f);
  EXPECT_TRUE(std::isnan(y[3]));
  EXPECT_EQ(y[4], 0.0f);
  EXPECT_EQ(y[5], 1.0f);
}

// The ops use the kernels for contiguous float32 tensors and the functors otherwise; both give the same values
// (to float rounding), on both sides of a vector's length, with a gradient y (1 - y) g.
TEST(VectorMath, OpsTakeTheKernelsForContiguousFloat32) {
  Generator gen(3);
  const Tensor x = rand({7, 37}, {}, -20, 20, &gen).requires_grad_();
  const Tensor y = sigmoid(x);
  const Tensor strided = sigmoid(x.detach().t().contiguous().t());  // not contiguous: the functor path
  const Tensor reference = sigmoid(x.detach().to(DType::Float64));
  const std::vector<float> yv = y.to_vector<float>(), sv = strided.to_vector<float>();
  const std::vector<double> rv = reference.to_vector<double>();
  for (std::size_t i = 0; i < yv.size(); ++i) {
    EXPECT_NEAR(yv[i], rv[i], 3e-7 * std::max(rv[i], 1e-30) + 1e-37) << i;
    EXPECT_NEAR(sv[i], rv[i], 3e-7 * std::max(rv[i], 1e-30) + 1e-37) << i;
  }
  const Tensor g = rand({7, 37}, {}, -1, 1, &gen);
  sum(mul(y, g)).backward();
  const std::vector<float> gx = x.grad().to_vector<float>(), gv = g.to_vector<float>();
  for (std::size_t i = 0; i < gx.size(); ++i) EXPECT_FLOAT_EQ(gx[i], yv[i] * (1.0f - yv[i]) * gv[i]) << i;

  const Tensor e = exp(x.detach()), e64 = exp(x.detach().to(DType::Float64));
  const std::vector<float> ev = e.to_vector<float>();
  const std::vector<double> e64v = e64.to_vector<double>();
  for (std::size_t i = 0; i < ev.size(); ++i) EXPECT_LE(ulps(ev[i], e64v[i]), 2.0) << i;
}
