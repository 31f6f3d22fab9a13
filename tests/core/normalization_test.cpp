#include <gtest/gtest.h>

#include "expect.h"

#include <cmath>

#include <lamina/core/normalization.h>

#include "core/gradcheck.h"

using namespace lamina;
using lamina::testing::expect_near;
using lamina::testing::gradcheck;
using lamina::testing::kGradTolerance;
using lamina::testing::leaf;

namespace {

Tensor f64(const std::vector<double>& v, const Shape& shape) { return from_vector<double>(v, shape); }

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

TEST(BatchNormGradCheck, Training2d) {
  const Tensor rm = zeros({3}, {.dtype = DType::Float64}), rv = ones({3}, {.dtype = DType::Float64});
  EXPECT_LT(gradcheck([&](auto& x) { return batch_norm(x[0], x[1], x[2], rm, rv, true); },
                      {leaf({5, 3}, 1, -2, 2), leaf({3}, 2, 0.5, 1.5), leaf({3}, 3)}),
            kGradTolerance);
}

TEST(BatchNormGradCheck, Training4d) {
  const Tensor rm = zeros({2}, {.dtype = DType::Float64}), rv = ones({2}, {.dtype = DType::Float64});
  EXPECT_LT(gradcheck([&](auto& x) { return batch_norm(x[0], x[1], x[2], rm, rv, true, 0.1, 1e-3); },
                      {leaf({3, 2, 2, 3}, 4, -2, 2), leaf({2}, 5, 0.5, 1.5), leaf({2}, 6)}),
            kGradTolerance);
}

TEST(BatchNormGradCheck, TrainingWithoutAffineOrRunningStats) {
  EXPECT_LT(gradcheck([](auto& x) { return batch_norm(x[0], {}, {}, {}, {}, true); }, {leaf({4, 2, 3}, 7, -2, 2)}), kGradTolerance);
}

TEST(BatchNormGradCheck, Eval) {
  const Tensor rm = f64({0.1, -0.2, 0.3}, {3}), rv = f64({0.5, 1.0, 2.0}, {3});
  EXPECT_LT(gradcheck([&](auto& x) { return batch_norm(x[0], x[1], x[2], rm, rv, false); },
                      {leaf({2, 3, 2, 2}, 8, -2, 2), leaf({3}, 9, 0.5, 1.5), leaf({3}, 10)}),
            kGradTolerance);
}

TEST(LayerNormGradCheck, WithWeightAndBias) {
  EXPECT_LT(gradcheck([](auto& x) { return layer_norm(x[0], {4}, x[1], x[2]); },
                      {leaf({3, 4}, 11, -2, 2), leaf({4}, 12, 0.5, 1.5), leaf({4}, 13)}),
            kGradTolerance);
  EXPECT_LT(gradcheck([](auto& x) { return layer_norm(x[0], {3, 4}, x[1], x[2]); },
                      {leaf({2, 3, 4}, 14, -2, 2), leaf({3, 4}, 15, 0.5, 1.5), leaf({3, 4}, 16)}),
            kGradTolerance);
}

TEST(LayerNormGradCheck, WithoutAffine) {
  EXPECT_LT(gradcheck([](auto& x) { return layer_norm(x[0], {5}); }, {leaf({2, 3, 5}, 17, -2, 2)}), kGradTolerance);
}

TEST(BatchNorm, TrainingUpdatesRunningStatsLikePyTorch) {
  const Tensor x = f64({1.0, 2.0, -1.0, 0.5, -2.0, 3.0, 2.0, 0.0, 0.0, -1.0, 1.0, 2.0}, {4, 3});
  const Tensor w = f64({1.5, -0.5, 2.0}, {3}), b = f64({0.1, 0.2, -0.3}, {3});
  Tensor rm = f64({0.1, 0.2, 0.3}, {3}), rv = f64({1.0, 2.0, 0.5}, {3});
  // torch.nn.functional.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1, eps=1e-5), PyTorch 1.13, float64.
  expect_near(batch_norm(x, w, b, rm, rv, true, 0.1, 1e-5),
              {0.6196130253, -0.3916066261, -2.829817069, -0.07320434175, 0.9606370907, 2.229817069, 2.005247759, 0.2845152323,
               -1.564908534, -2.151656443, -0.05354569689, 0.9649085343},
              1e-9);
  // The running variance takes the unbiased batch variance.
  expect_near(rm, {0.1525, 0.205, 0.37}, 1e-12);
  expect_near(rv, {1.05625, 2.091666667, 0.7833333333}, 1e-9);
  // Then in eval mode with the updated running statistics (same PyTorch session).
  expect_near(batch_norm(x, w, b, rm, rv, false, 0.1, 1e-5),
              {1.336931214, -0.4205648625, -3.395811342, 0.6071782854, 0.9623094829, 5.643053889, 2.796437071, 0.2708723102,
               -1.136095034, -1.582080501, -0.07484627613, 3.383337582},
              1e-8);
  expect_near(rm, {0.1525, 0.205, 0.37}, 1e-12);  // eval leaves them alone
}

TEST(BatchNorm, Training4dMatchesPyTorch) {
  std::vector<double> v(24);
  for (int i = 0; i < 24; ++i) v[i] = 3 * std::cos(i * 0.7);
  const Tensor x = f64(v, {2, 2, 2, 3});
  Tensor rm = zeros({2}, {.dtype = DType::Float64}), rv = ones({2}, {.dtype = DType::Float64});
  // batch_norm(x, zeros(2), ones(2), None, None, training=True, momentum=0.2, eps=1e-3), PyTorch 1.13, float64.
  expect_near(batch_norm(x, {}, {}, rm, rv, true, 0.2, 1e-3),
              {1.675189261, 1.345367633, 0.5110230155, -0.4354392815, -1.048883251, -1.040796608, -0.9264959511, 0.04685559041,
               0.8940465681, 1.216629827, 0.8628894208, -0.0008050109385, -0.455695743, -1.056596264, -1.032338623, -0.3943315665,
               0.5573602167, 1.375141211, 1.216019947, 0.8468487895, -0.02473223374, -0.9888049486, -1.591950893, -1.550501105},
              1e-9);
  expect_near(rm, {-0.1166307049, 0.09236015261}, 1e-9);
  expect_near(rv, {1.797991158, 1.749091515}, 1e-9);
}

TEST(BatchNorm, Float32LargeInputNormalizesEachChannel) {
  // Large enough for the parallel loop; a big mean checks the two-pass variance.
  Generator gen(4);
  const Tensor x = randn({16, 8, 20, 20}, {}, 1000.0, 2.0, &gen);
  const Tensor y = batch_norm(x, {}, {}, {}, {}, true);
  const std::vector<float> mean = y.mean({0, 2, 3}).to_vector<float>();
  const std::vector<float> var = (y * y).mean({0, 2, 3}).to_vector<float>();
  for (int c = 0; c < 8; ++c) {
    EXPECT_NEAR(mean[c], 0.0f, 1e-3f);
    EXPECT_NEAR(var[c], 1.0f, 1e-3f);
  }
}

TEST(BatchNorm, Errors) {
  const Tensor x = zeros({4, 3});
  expect_error<std::invalid_argument>([&] { batch_norm(x, zeros({4}), {}, {}, {}, true); },
                                      {"batch_norm", "weight", "float32 [4]", "float32 [4, 3]", "3 channels"});
  expect_error<std::invalid_argument>([&] { batch_norm(x, {}, {}, zeros({3}), zeros({2}), true); },
                                      {"batch_norm", "running_var", "float32 [2]", "float32 [4, 3]"});
  expect_error<std::invalid_argument>([&] { batch_norm(x, {}, {}, zeros({3}, {.dtype = DType::Float64}), ones({3}), true); },
                                      {"batch_norm", "running_mean", "float64 [3]"});
  expect_error<std::invalid_argument>([] { batch_norm(zeros({5}), {}, {}, {}, {}, true); }, {"batch_norm", "float32 [5]"});
  expect_error<std::invalid_argument>([] { batch_norm(zeros({1, 3}), {}, {}, {}, {}, true); },
                                      {"batch_norm", "more than one value", "float32 [1, 3]"});
}

TEST(LayerNorm, MatchesPyTorch) {
  std::vector<double> v(24), w(12), b(12);
  for (int i = 0; i < 24; ++i) v[i] = std::sin(i * 1.3) + 0.1 * i;
  for (int i = 0; i < 12; ++i) { w[i] = std::cos(i); b[i] = 0.05 * i; }
  const Tensor x = f64(v, {2, 3, 4});
  // torch.nn.functional.layer_norm(x, [4]) and layer_norm(x, [3, 4], w, b, eps=1e-5), PyTorch 1.13, float64.
  expect_near(layer_norm(x, {4}),
              {-0.6078876126, 1.250883074, 0.6425874384, -1.2855829, -1.573727111, 0.003676072128, 1.166319403, 0.4037316363,
               -1.055329343, -0.8675627636, 0.584082482, 1.338809624, 0.252080144, -1.197520946, -0.5410286474, 1.48646945,
               1.512961418, -0.019795895, -1.292328717, -0.2008368057, 0.822587102, 1.071418232, -0.5101422189, -1.383863115},
              1e-8);
  expect_near(layer_norm(x, {3, 4}, f64(w, {3, 4}), f64(b, {3, 4})),
              {-0.8350636104, 0.3316407969, 0.06779141161, 1.466266279, 1.148829794, 0.2718166865, 1.455582455, 0.7002379028,
               0.5266650547, 1.050484745, -0.3189669157, 0.5580819611, -0.4475578482, -0.8435120408, 0.5608739531, -0.4237396138,
               -0.5349913718, 0.2266180172, -0.7412200583, 0.1803876414, 0.1926031605, -1.042009801, 0.257299462, 0.5479836404},
              1e-8);
}

TEST(LayerNorm, Errors) {
  expect_error<std::invalid_argument>([] { layer_norm(zeros({2, 4, 3}), {3, 4}); },
                                      {"layer_norm", "[3, 4]", "float32 [2, 4, 3]"});
  expect_error<std::invalid_argument>([] { layer_norm(zeros({2, 4}), {4}, zeros({3})); },
                                      {"layer_norm", "weight", "float32 [3]", "float32 [2, 4]"});
  expect_error<std::invalid_argument>([] { layer_norm(zeros({2, 4}), {2, 2, 4}); }, {"layer_norm", "[2, 2, 4]"});
}

// A statistics reducer that acts as if a second process held an identical batch: its sums are twice ours. The
// result must then equal batch_norm over the batch concatenated with itself, forward and backward.
TEST(BatchNormGradCheck, WithStatisticsReducerEqualsTheCombinedBatch) {
  const StatisticsReducer twice = [](Tensor& sums) { sums.mul_(2.0); };
  const Tensor x = lamina::testing::leaf({3, 2, 4}, 31);
  const Tensor w = lamina::testing::leaf({2}, 32, 0.5, 1.5);
  const Tensor b = lamina::testing::leaf({2}, 33);
  Tensor rm1 = zeros({2}, {.dtype = DType::Float64}), rv1 = ones({2}, {.dtype = DType::Float64});
  Tensor rm2 = zeros({2}, {.dtype = DType::Float64}), rv2 = ones({2}, {.dtype = DType::Float64});
  const Tensor synced = batch_norm(x, w, b, rm1, rv1, true, 0.1, 1e-5, twice);
  const Tensor doubled = batch_norm(cat({x, x}, 0), w, b, rm2, rv2, true);
  const auto a = synced.to_vector<double>(), e = doubled.slice(0, 0, 3).to_vector<double>();
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], e[i], 1e-12);
  EXPECT_EQ(rm1.to_vector<double>(), rm2.to_vector<double>());
  EXPECT_EQ(rv1.to_vector<double>(), rv2.to_vector<double>());
  // The input gradient with the reducer is the gradient of the combined batch's loss with respect to one copy.
  EXPECT_LT(lamina::testing::gradcheck([&](auto& in) { return batch_norm(in[0], in[1], in[2], {}, {}, true, 0.1, 1e-5, twice); },
                                       {x, w, b}),
            1e-6);
}
