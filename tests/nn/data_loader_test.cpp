#include <gtest/gtest.h>

#include <lamina/lamina.h>
#include <lamina/nn/data_loader.h>

#include "nn/idx_files.h"

using namespace lamina;
using namespace lamina::testing;

namespace {

// 10 samples: inputs row i = {3i, 3i + 1, 3i + 2} + 7i = {10i, 10i + 1, 10i + 2}, target i.
nn::TensorDataset ten_samples() {
  return nn::TensorDataset(arange(0, 30, 1, {.dtype = DType::Float64}).reshape({10, 3}).add_(
                               arange(0, 10, 1, {.dtype = DType::Float64}).reshape({10, 1}).expand({10, 3}).contiguous(), 7.0),
                           arange(0, 10, 1, {.dtype = DType::Int64}));
}

// The targets of every batch of one pass.
std::vector<std::vector<std::int64_t>> pass(nn::DataLoader& loader) {
  std::vector<std::vector<std::int64_t>> out;
  for (auto& [x, y] : loader) out.push_back(y.to_vector<std::int64_t>());
  return out;
}

}  // namespace

TEST(DataLoader, BatchCountWithAndWithoutDropLast) {
  const nn::TensorDataset data = ten_samples();
  nn::SequentialSampler sampler(10);
  nn::DataLoader keep(data, 4, sampler);
  EXPECT_EQ(keep.size(), 3);
  EXPECT_EQ(pass(keep), (std::vector<std::vector<std::int64_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}));
  nn::DataLoader drop(data, 4, sampler, /*drop_last=*/true);
  EXPECT_EQ(drop.size(), 2);
  EXPECT_EQ(pass(drop), (std::vector<std::vector<std::int64_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}}));
  nn::DataLoader exact(data, 5, sampler, true);
  EXPECT_EQ(exact.size(), 2);
  EXPECT_EQ(pass(exact).size(), 2u);
}

TEST(DataLoader, BatchesHoldTheSampledRows) {
  const nn::TensorDataset data = ten_samples();
  nn::RandomSampler sampler(10, 5);
  const std::vector<std::int64_t> order = sampler.indices(0);
  nn::DataLoader loader(data, 3, sampler);
  std::size_t seen = 0;
  for (auto& batch : loader) {
    EXPECT_TRUE(batch.inputs.is_contiguous());
    EXPECT_EQ(batch.inputs.size(1), 3);
    const std::vector<std::int64_t> y = batch.targets.to_vector<std::int64_t>();
    const std::vector<double> x = batch.inputs.to_vector<double>();
    ASSERT_EQ(x.size(), 3 * y.size());
    for (std::size_t i = 0; i < y.size(); ++i) {
      EXPECT_EQ(y[i], order[seen + i]);
      for (int k = 0; k < 3; ++k) EXPECT_EQ(x[3 * i + k], 10.0 * y[i] + k);
    }
    seen += y.size();
  }
  EXPECT_EQ(seen, 10u);
}

TEST(DataLoader, EachPassIsTheNextEpoch) {
  const nn::TensorDataset data = ten_samples();
  nn::RandomSampler sampler(10, 5);
  nn::DataLoader loader(data, 10, sampler);
  EXPECT_EQ(pass(loader), (std::vector<std::vector<std::int64_t>>{sampler.indices(0)}));
  EXPECT_EQ(sampler.state(), (nn::SamplerState{1, 0}));
  sampler.set_epoch(1);  // PyTorch-style explicit call: a no-op here
  EXPECT_EQ(pass(loader), (std::vector<std::vector<std::int64_t>>{sampler.indices(1)}));
  EXPECT_EQ(sampler.epoch(), 2);
}

TEST(DataLoader, ResumeMidEpochGivesTheRemainingBatches) {
  const nn::TensorDataset data = ten_samples();
  nn::RandomSampler reference_sampler(10, 11);
  nn::DataLoader reference(data, 3, reference_sampler);
  pass(reference);  // epoch 0
  const std::vector<std::vector<std::int64_t>> epoch1 = pass(reference);
  ASSERT_EQ(epoch1.size(), 4u);

  nn::RandomSampler sampler(10, 11);
  nn::DataLoader loader(data, 3, sampler);
  pass(loader);
  nn::SamplerState saved;
  for (auto& batch : loader) {
    if (batch.targets.to_vector<std::int64_t>() == epoch1[1]) {
      saved = sampler.state();  // a checkpoint taken while training on the second batch
      break;
    }
  }
  EXPECT_EQ(saved, (nn::SamplerState{1, 6}));

  nn::RandomSampler resumed_sampler(10, 11);
  resumed_sampler.load_state(saved);
  nn::DataLoader resumed(data, 3, resumed_sampler);
  resumed_sampler.set_epoch(1);
  EXPECT_EQ(pass(resumed), (std::vector<std::vector<std::int64_t>>{epoch1[2], epoch1[3]}));
  EXPECT_EQ(resumed_sampler.state(), (nn::SamplerState{2, 0}));
  // The loop that stopped early continues the same way.
  EXPECT_EQ(pass(loader), (std::vector<std::vector<std::int64_t>>{epoch1[2], epoch1[3]}));
}

TEST(DataLoader, StateDuringTheLastBatchPointsAtTheNextEpoch) {
  const nn::TensorDataset data = ten_samples();
  nn::SequentialSampler sampler(10);
  nn::DataLoader loader(data, 4, sampler, /*drop_last=*/true);
  std::vector<nn::SamplerState> states;
  for (auto& batch : loader) {
    (void)batch;
    states.push_back(sampler.state());
  }
  EXPECT_EQ(states, (std::vector<nn::SamplerState>{{0, 4}, {1, 0}}));
  // A restored state whose epoch has only a dropped tail left yields nothing and moves on.
  sampler.load_state({3, 8});
  EXPECT_TRUE(pass(loader).empty());
  EXPECT_EQ(sampler.state(), (nn::SamplerState{4, 0}));
}

TEST(DataLoader, BatchesKeptByTheCallerStayIntact) {
  const nn::TensorDataset data = ten_samples();
  nn::RandomSampler sampler(10, 2);
  const std::vector<std::int64_t> order = sampler.indices(0);
  nn::DataLoader loader(data, 3, sampler);
  std::vector<nn::Batch> kept;
  for (auto& batch : loader) kept.push_back(batch);
  std::vector<std::int64_t> targets;
  for (const nn::Batch& b : kept)
    for (std::int64_t y : b.targets.to_vector<std::int64_t>()) targets.push_back(y);
  EXPECT_EQ(targets, order);
  EXPECT_EQ(kept[0].inputs.to_vector<double>()[0], 10.0 * order[0]);
}

TEST(DataLoader, SteadyStateBatchesComeFromTheAllocatorCache) {
  const nn::TensorDataset data = ten_samples();
  nn::SequentialSampler sampler(10);
  nn::DataLoader loader(data, 2, sampler);
  pass(loader);  // warms the allocator's cache with the batch sizes
  const std::uint64_t before = CachingHostAllocator::instance().stats().system_allocs;
  for (int epoch = 0; epoch < 3; ++epoch) EXPECT_EQ(pass(loader).size(), 5u);
  EXPECT_EQ(CachingHostAllocator::instance().stats().system_allocs, before);
}

TEST(DataLoader, Errors) {
  const nn::TensorDataset data = ten_samples();
  nn::SequentialSampler sampler(10);
  const std::string msg = error_of([&] { nn::DataLoader(data, 0, sampler); });
  EXPECT_TRUE(contains(msg, "DataLoader: batch_size must be positive, got 0")) << msg;
  nn::SequentialSampler too_long(11);  // an index past the data set's end
  nn::DataLoader loader(data, 4, too_long);
  EXPECT_THROW(pass(loader), std::out_of_range);
}
