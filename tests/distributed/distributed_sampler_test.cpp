// DistributedSampler's resume at the same and at another world size. These tests build samplers for every rank of
// imagined jobs in one process; no collective is involved.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include <lamina/distributed/distributed_sampler.h>
#include <lamina/nn/sampler.h>

using namespace lamina;
using distributed::DistributedSampler;

namespace {

// Global batch `step` (of `global_batch` samples) of a job of `world` ranks: the union of every rank's
// (global_batch / world)-sized batch `step`, as a sorted list.
std::vector<std::int64_t> global_batch_of(const std::vector<std::vector<std::int64_t>>& shards, std::int64_t step,
                                          std::int64_t global_batch) {
  const auto per_rank = global_batch / static_cast<std::int64_t>(shards.size());
  std::vector<std::int64_t> out;
  for (const auto& shard : shards)
    for (std::int64_t j = step * per_rank; j < std::min<std::int64_t>((step + 1) * per_rank, static_cast<std::int64_t>(shard.size())); ++j)
      out.push_back(shard[static_cast<std::size_t>(j)]);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::vector<std::int64_t>> shards(std::int64_t n, int world, std::int64_t epoch, std::int64_t seen) {
  std::vector<std::vector<std::int64_t>> out;
  for (int r = 0; r < world; ++r) {
    DistributedSampler s(n, r, world, {.seed = 11});
    if (seen > 0) s.resume_epoch(epoch, seen);
    out.push_back(s.indices(epoch));
    EXPECT_EQ(static_cast<std::int64_t>(out.back().size()), s.size());
  }
  return out;
}

}  // namespace

TEST(DistributedSampler, ResumeAtTheSameWorldSizeContinuesEachShardExactly) {
  for (int world : {1, 2, 3, 4})
    for (std::int64_t n : {96, 103}) {
      const auto whole = shards(n, world, 2, 0);
      for (std::int64_t position : {1, 5, 20}) {
        const auto rest = shards(n, world, 2, position * world);
        for (int r = 0; r < world; ++r)
          EXPECT_EQ(rest[r], std::vector<std::int64_t>(whole[r].begin() + position, whole[r].end()))
              << "world " << world << ", n " << n << ", position " << position << ", rank " << r;
      }
    }
}

TEST(DistributedSampler, ResumeAtAnotherWorldSizeVisitsTheUnseenSamplesInTheSameGlobalBatches) {
  const std::int64_t n = 1000, global_batch = 64, done = 5;  // saved at 2 ranks after 5 global batches
  const auto saved = shards(n, 2, 1, 0);
  const std::int64_t seen = done * global_batch;
  for (int world : {1, 4, 8}) {
    const auto resumed = shards(n, world, 1, seen);
    // Together, the resumed shards hold exactly the samples the saved job had not reached this epoch.
    std::multiset<std::int64_t> unseen, visited;
    for (const auto& shard : saved)
      for (std::size_t j = static_cast<std::size_t>(done * global_batch / 2); j < shard.size(); ++j) unseen.insert(shard[j]);
    for (const auto& shard : resumed) visited.insert(shard.begin(), shard.end());
    EXPECT_EQ(visited, unseen) << "world " << world;
    // And batch by batch: the resumed job's global batch j is the saved job's global batch done + j.
    const std::int64_t batches = (n - seen + global_batch - 1) / global_batch;
    for (std::int64_t j = 0; j < batches; ++j)
      EXPECT_EQ(global_batch_of(resumed, j, global_batch), global_batch_of(saved, done + j, global_batch))
          << "world " << world << ", batch " << j;
  }
}

TEST(DistributedSampler, PaddingAfterAResumeWrapsToTheStartOfTheOrder) {
  // 10 samples, 4 seen, 4 ranks: 6 left, padded to 8 with positions 0 and 1 of the epoch's order.
  const auto order = nn::shuffled_indices(10, 11, 0);
  const auto rest = shards(10, 4, 0, 4);
  std::multiset<std::int64_t> visited, expected(order.begin() + 4, order.end());
  for (const auto& shard : rest) {
    EXPECT_EQ(shard.size(), 2u);
    visited.insert(shard.begin(), shard.end());
  }
  expected.insert(order[0]);
  expected.insert(order[1]);
  EXPECT_EQ(visited, expected);
}

TEST(DistributedSampler, SamplesSeenCountsTheResumedOffsetAndOnlyForThatEpoch) {
  DistributedSampler s(100, 1, 4, {.seed = 1});
  EXPECT_EQ(s.size(), 25);
  s.resume_epoch(3, 40);
  EXPECT_EQ(s.state(), (nn::SamplerState{3, 0}));
  EXPECT_EQ(s.size(), 15);
  EXPECT_EQ(s.samples_seen(), 40);
  s.load_state({3, 6});
  EXPECT_EQ(s.samples_seen(), 40 + 6 * 4);
  s.set_epoch(4);
  EXPECT_EQ(s.size(), 25);
  EXPECT_EQ(s.samples_seen(), 0);
  EXPECT_EQ(s.indices(4), DistributedSampler(100, 1, 4, {.seed = 1}).indices(4));

  try {
    s.resume_epoch(0, 101);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "DistributedSampler::resume_epoch: epoch 0 after 101 samples does not fit a data set of 100");
  }
}
