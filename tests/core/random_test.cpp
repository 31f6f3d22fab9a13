#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include <lamina/lamina.h>
#include <lamina/core/shape_ops.h>

using namespace lamina;

TEST(Random, SameSeedGivesTheSameNumbers) {
  Generator g1(42), g2(42), g3(43);
  const Tensor a = rand({100}, {}, 0, 1, &g1);
  EXPECT_EQ(a.to_vector<float>(), rand({100}, {}, 0, 1, &g2).to_vector<float>());
  EXPECT_NE(a.to_vector<float>(), rand({100}, {}, 0, 1, &g3).to_vector<float>());
  EXPECT_EQ(randn({50}, {.dtype = DType::Float64}, 0, 1, &g1).to_vector<double>(),
            randn({50}, {.dtype = DType::Float64}, 0, 1, &g2).to_vector<double>());
  // The default generator, through manual_seed.
  manual_seed(7);
  const std::vector<float> first = randn({20}).to_vector<float>();
  manual_seed(7);
  EXPECT_EQ(randn({20}).to_vector<float>(), first);
}

TEST(Random, SavedStateContinuesTheExactStream) {
  Generator g(5);
  rand({10}, {}, 0, 1, &g);
  const GeneratorState saved = g.state();
  const std::vector<double> a = rand({7, 3}, {.dtype = DType::Float64}, 0, 1, &g).to_vector<double>();
  const std::vector<double> b = randn({5}, {.dtype = DType::Float64}, 0, 1, &g).to_vector<double>();
  EXPECT_NE(g.state(), saved);
  g.set_state(saved);
  EXPECT_EQ(rand({7, 3}, {.dtype = DType::Float64}, 0, 1, &g).to_vector<double>(), a);
  EXPECT_EQ(randn({5}, {.dtype = DType::Float64}, 0, 1, &g).to_vector<double>(), b);
  // A restored state works on another generator too, and draws split in two equal one draw of the sum.
  Generator fresh(99);
  fresh.set_state(saved);
  const Tensor both = rand({30}, {.dtype = DType::Float64}, 0, 1, &fresh);
  fresh.set_state(saved);
  const Tensor first = rand({21}, {.dtype = DType::Float64}, 0, 1, &fresh);
  const Tensor second = rand({9}, {.dtype = DType::Float64}, 0, 1, &fresh);
  EXPECT_EQ(cat({first, second}, 0).to_vector<double>(), both.to_vector<double>());
}

TEST(Random, RandStaysInItsRange) {
  Generator g(1);
  const std::vector<double> v = rand({100000}, {.dtype = DType::Float64}, -2.0, 3.0, &g).to_vector<double>();
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  EXPECT_GE(*lo, -2.0);
  EXPECT_LT(*hi, 3.0);
  EXPECT_LT(*lo, -1.99);  // and fills it
  EXPECT_GT(*hi, 2.99);
  // Mean of U(-2, 3) is 0.5; its standard error over 1e5 samples is 5/sqrt(12e5) = 0.0046.
  EXPECT_NEAR(std::accumulate(v.begin(), v.end(), 0.0) / v.size(), 0.5, 0.03);
}

TEST(Random, RandnHasTheRequestedMeanAndStd) {
  Generator g(2);
  const std::vector<double> v = randn({100000}, {.dtype = DType::Float64}, 1.5, 2.0, &g).to_vector<double>();
  const double n = static_cast<double>(v.size());
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / n;
  double var = 0;
  for (double x : v) var += (x - mean) * (x - mean);
  const double stddev = std::sqrt(var / (n - 1));
  // Standard errors: 2/sqrt(1e5) = 0.0063 for the mean, about 2/sqrt(2e5) = 0.0045 for the std; ~5 sigma.
  EXPECT_NEAR(mean, 1.5, 0.03);
  EXPECT_NEAR(stddev, 2.0, 0.025);
  // Tails: P(|z| > 3) = 0.27% for a normal, so about 270 of 1e5.
  const auto outside = std::count_if(v.begin(), v.end(), [](double x) { return std::abs(x - 1.5) > 6.0; });
  EXPECT_GT(outside, 150);
  EXPECT_LT(outside, 400);
}

TEST(Random, RandpermIsAPermutation) {
  Generator g(3);
  std::vector<std::int64_t> p = randperm(1000, &g).to_vector<std::int64_t>();
  const std::vector<std::int64_t> unsorted = p;
  std::sort(p.begin(), p.end());
  std::vector<std::int64_t> expected(1000);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(p, expected);
  EXPECT_NE(unsorted, expected);  // shuffled (the identity has probability 1/1000!)
  EXPECT_NE(randperm(1000, &g).to_vector<std::int64_t>(), unsorted);  // the stream moved on
  EXPECT_EQ(randperm(0, &g).numel(), 0);
  EXPECT_EQ(randperm(1, &g).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0}));
  EXPECT_THROW(randperm(-1, &g), std::invalid_argument);
}

TEST(Random, ErrorsNameTheOp) {
  try {
    rand({2}, {.dtype = DType::Int64});
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("rand"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("int64"), std::string::npos) << e.what();
  }
  EXPECT_THROW(randn({2}, {.dtype = DType::Int64}), std::invalid_argument);
}
