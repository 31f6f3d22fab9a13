#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include <lamina/nn/sampler.h>

#include "nn/idx_files.h"

using namespace lamina;
using namespace lamina::testing;

namespace {
std::vector<std::int64_t> iota(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}
}  // namespace

TEST(Sampler, SequentialIsTheIdentityEveryEpoch) {
  nn::SequentialSampler s(7);
  EXPECT_EQ(s.size(), 7);
  EXPECT_EQ(s.indices(0), iota(7));
  EXPECT_EQ(s.indices(5), iota(7));
  EXPECT_TRUE(nn::SequentialSampler(0).indices(0).empty());
}

TEST(Sampler, RandomIsAPermutation) {
  nn::RandomSampler s(1000, 42);
  std::vector<std::int64_t> order = s.indices(0);
  EXPECT_NE(order, iota(1000));
  std::sort(order.begin(), order.end());
  EXPECT_EQ(order, iota(1000));
}

TEST(Sampler, RandomIsReproducibleAndDiffersAcrossEpochsAndSeeds) {
  const nn::RandomSampler a(500, 7), b(500, 7), other_seed(500, 8);
  EXPECT_EQ(a.indices(0), b.indices(0));
  EXPECT_EQ(a.indices(3), b.indices(3));
  EXPECT_EQ(a.indices(3), nn::shuffled_indices(500, 7, 3));
  EXPECT_NE(a.indices(0), a.indices(1));
  EXPECT_NE(a.indices(0), other_seed.indices(0));
  // seed + epoch would make (7, 1) and (8, 0) the same stream; counters per epoch keep them apart.
  EXPECT_NE(a.indices(1), other_seed.indices(0));
}

TEST(Sampler, RandomIsRoughlyUniform) {
  // Over 4000 epochs each of 4 values should lead about 1000 times (binomial std ~27).
  const nn::RandomSampler s(4, 3);
  std::vector<int> first(4, 0);
  for (std::int64_t e = 0; e < 4000; ++e) ++first[s.indices(e)[0]];
  for (int count : first) EXPECT_NEAR(count, 1000, 150);
}

TEST(Sampler, SetEpochStartsTheEpochUnlessItIsCurrent) {
  nn::RandomSampler s(10, 1);
  EXPECT_EQ(s.state(), (nn::SamplerState{0, 0}));
  s.load_state({2, 6});
  s.set_epoch(2);  // the usual call at the top of a resumed loop keeps the position
  EXPECT_EQ(s.state(), (nn::SamplerState{2, 6}));
  s.set_epoch(3);
  EXPECT_EQ(s.state(), (nn::SamplerState{3, 0}));
  const std::string msg = error_of([&] { s.set_epoch(-1); });
  EXPECT_TRUE(contains(msg, "Sampler::set_epoch: epoch must be non-negative, got -1")) << msg;
}

TEST(Sampler, StateRoundTripsAndIsChecked) {
  nn::RandomSampler s(10, 1);
  s.load_state({4, 10});
  nn::RandomSampler restored(10, 1);
  restored.load_state(s.state());
  EXPECT_EQ(restored.state(), (nn::SamplerState{4, 10}));
  EXPECT_EQ(restored.indices(restored.epoch()), s.indices(4));

  std::string msg = error_of([&] { restored.load_state({1, 11}); });
  EXPECT_TRUE(contains(msg, "Sampler::load_state: epoch 1, position 11 does not fit a sampler of 10 indices per epoch")) << msg;
  EXPECT_EQ(restored.state(), (nn::SamplerState{4, 10}));  // unchanged by the failed load
  EXPECT_THROW(restored.load_state({-1, 0}), std::invalid_argument);
  EXPECT_THROW(restored.load_state({0, -1}), std::invalid_argument);
  msg = error_of([] { nn::RandomSampler(-3, 0); });
  EXPECT_TRUE(contains(msg, "RandomSampler: the number of samples must be non-negative, got -3")) << msg;
}
