#include <gtest/gtest.h>

#include "expect.h"

#include <cmath>
#include <limits>

#include <lamina/core/softmax.h>

#include "core/gradcheck.h"

using namespace lamina;
using lamina::testing::expect_near;
using lamina::testing::gradcheck;
using lamina::testing::kGradTolerance;
using lamina::testing::leaf;

namespace {

// 2 * sin(i) for i = 0 .. 23, shape [2, 3, 4].
Tensor sines() {
  std::vector<double> v(24);
  for (int i = 0; i < 24; ++i) v[i] = 2 * std::sin(i);
  return from_vector<double>(v, {2, 3, 4});
}

}  // namespace

TEST(SoftmaxGradCheck, LastDim) {
  EXPECT_LT(gradcheck([](auto& x) { return softmax(x[0], -1); }, {leaf({3, 5}, 1, -2, 2)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return log_softmax(x[0], 1); }, {leaf({3, 5}, 2, -2, 2)}), kGradTolerance);
}

TEST(SoftmaxGradCheck, InnerDim) {
  EXPECT_LT(gradcheck([](auto& x) { return softmax(x[0], 1); }, {leaf({2, 3, 4}, 3, -2, 2)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return log_softmax(x[0], 0); }, {leaf({3, 2, 2}, 4, -2, 2)}), kGradTolerance);
}

TEST(SoftmaxGradCheck, NonContiguousInput) {
  // The transposed view goes through the same kernels after a copy; its gradient must land on the right elements.
  EXPECT_LT(gradcheck([](auto& x) { return softmax(x[0].t(), -1); }, {leaf({4, 3}, 5, -2, 2)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return log_softmax(x[0].t(), 0); }, {leaf({4, 3}, 6, -2, 2)}), kGradTolerance);
}

TEST(Softmax, MatchesPyTorch) {
  const Tensor x = from_vector<double>({1, 2, 3, -1, 0, 4}, {2, 3});
  // torch.softmax(x, 1), torch.softmax(x, 0), torch.log_softmax(x, -1) with PyTorch 1.13, float64.
  expect_near(softmax(x, 1), {0.09003057317, 0.2447284711, 0.6652409558, 0.006573263185, 0.01786798187, 0.9755587549}, 1e-10);
  expect_near(softmax(x, 0), {0.880797078, 0.880797078, 0.2689414214, 0.119202922, 0.119202922, 0.7310585786}, 1e-9);
  expect_near(x.log_softmax(-1), {-2.407605964, -1.407605964, -0.4076059644, -5.02474489, -4.02474489, -0.02474489014}, 1e-9);
}

TEST(Softmax, MiddleDimMatchesPyTorch) {
  const Tensor y = sines();
  // torch.softmax(y, 1) and torch.log_softmax(y, 1) for y = 2 * sin(arange(24)).reshape(2, 3, 4), PyTorch 1.13.
  expect_near(y.softmax(1),
              {0.1182932479, 0.6891739087, 0.8714989147, 0.2558865326, 0.0260381222, 0.01881591638, 0.0808656204, 0.7179983676,
               0.8556686299, 0.292010175, 0.04763546488, 0.02611509984, 0.04807465744, 0.297331395, 0.8574923202, 0.7053611754,
               0.07905109129, 0.01875983724, 0.02633300296, 0.2592748552, 0.8728742513, 0.6839087678, 0.1161746768, 0.03536396941},
              1e-9);
  expect_near(log_softmax(y, 1),
              {-2.134588586, -0.3722616325, -0.1375406593, -1.363021165, -3.648193576, -3.973052151, -2.514966509, -0.3312879835,
               -0.1558720924, -1.230966632, -3.044177735, -3.645241594, -3.035000113, -1.212907954, -0.153743056, -0.3490453019,
               -2.53766091, -3.976037012, -3.636932261, -1.349866563, -0.1359637756, -0.3799307507, -2.152660386, -3.342061791},
              1e-8);
}

TEST(Softmax, Float32MatchesFloat64) {
  const Tensor y = sines();
  const std::vector<float> f = softmax(y.to(DType::Float32), 2).to_vector<float>();
  const std::vector<double> d = softmax(y, 2).to_vector<double>();
  for (std::size_t i = 0; i < d.size(); ++i) EXPECT_NEAR(f[i], d[i], 1e-6);
}

TEST(Softmax, LargeLogitsStayFinite) {
  const Tensor x = from_vector<float>({1000, -1000, 0, 1000, 999, -5000}, {2, 3});
  // Naive exp(1000) overflows to inf; subtracting the maximum keeps everything finite.
  expect_near(softmax(x, 1), {1, 0, 0, 0.7310585786, 0.2689414214, 0}, 1e-6);
  expect_near(log_softmax(x, 1), {0, -2000, -1000, -0.3132616875, -1.3132616875, -6000.3132616875}, 1e-3);
}

TEST(Softmax, RowsSumToOne) {
  Generator gen(3);
  const Tensor x = randn({64, 1000}, {}, 0, 10, &gen);
  const std::vector<float> s = softmax(x, 1).sum({1}).to_vector<float>();
  for (float v : s) EXPECT_NEAR(v, 1.0f, 1e-5f);
  // Large enough to take the parallel path; the result must agree with the transposed (strided) kernel.
  const std::vector<float> a = softmax(x, 1).to_vector<float>();
  const std::vector<float> b = softmax(x.t().contiguous(), 0).t().contiguous().to_vector<float>();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-7f) << "at " << i;
}

TEST(Softmax, ScalarAndEmpty) {
  EXPECT_EQ(softmax(scalar_tensor(3.5), 0).item(), 1.0);
  EXPECT_EQ(log_softmax(scalar_tensor(3.5), -1).item(), 0.0);
  EXPECT_EQ(softmax(zeros({0, 4}), 1).shape(), (Shape{0, 4}));
}

TEST(Softmax, Errors) {
  try {
    softmax(zeros({2, 3}), 2);
    FAIL() << "expected an exception";
  } catch (const std::out_of_range& e) {
    EXPECT_NE(std::string(e.what()).find("softmax"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("2-d"), std::string::npos) << e.what();
  }
  try {
    log_softmax(zeros({2, 3}, {.dtype = DType::Int64}), 1);
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("log_softmax"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("int64 [2, 3]"), std::string::npos) << e.what();
  }
}
