// SharedMemoryChannel on its own, over every rank of the job (MpiProcessGroup uses it for two ranks only).
#include <algorithm>
#include <cmath>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include <lamina/distributed/environment.h>
#include <lamina/distributed/shared_memory_channel.h>
#include <lamina/lamina.h>

#include "expect.h"

using namespace lamina;
using namespace lamina::distributed;

namespace {

// More ranks than cores in these tests: a waiting rank lets the others run.
const SharedMemoryChannel::Pacing yield = [] { return [] { std::this_thread::yield(); }; };

std::unique_ptr<SharedMemoryChannel> channel_over_the_job() {
  std::unique_ptr<SharedMemoryChannel> channel = SharedMemoryChannel::create(MPI_COMM_WORLD);
  EXPECT_EQ(channel != nullptr, environment().world_size > 1) << "ctest runs every rank on one node";
  return channel;
}

std::vector<std::int64_t> gathered(std::int64_t value) {
  std::vector<std::int64_t> all(static_cast<std::size_t>(environment().world_size));
  MPI_Allgather(&value, 1, MPI_INT64_T, all.data(), 1, MPI_INT64_T, MPI_COMM_WORLD);
  return all;
}

// `averaged` (float32) has the same bits on every rank, and is the float64 average of every rank's `mine` rounded.
void expect_same_average_on_every_rank(const Tensor& mine, const Tensor& averaged) {
  const int size = environment().world_size;
  const std::int64_t n = mine.numel();
  std::vector<float> inputs(static_cast<std::size_t>(n * size)), results(inputs.size());
  MPI_Allgather(mine.data<float>(), static_cast<int>(n), MPI_FLOAT, inputs.data(), static_cast<int>(n), MPI_FLOAT, MPI_COMM_WORLD);
  MPI_Allgather(averaged.data<float>(), static_cast<int>(n), MPI_FLOAT, results.data(), static_cast<int>(n), MPI_FLOAT,
                MPI_COMM_WORLD);
  const std::vector<float> got = averaged.to_vector<float>();
  for (int r = 0; r < size; ++r)
    EXPECT_TRUE(std::equal(got.begin(), got.end(), results.begin() + r * n)) << "rank " << r << " got other bits";
  std::vector<double> expected(static_cast<std::size_t>(n), 0.0);
  for (std::size_t k = 0; k < inputs.size(); ++k) expected[k % static_cast<std::size_t>(n)] += static_cast<double>(inputs[k]) / size;
  lamina::testing::expect_near(averaged, expected, 1e-5);
}

}  // namespace

TEST(SharedMemoryChannel, AllreduceOfEveryDtypeOpAndChunking) {
  const auto channel = channel_over_the_job();
  if (!channel) GTEST_SKIP() << "one rank: no channel";
  const int size = environment().world_size, rank = environment().world_rank;
  const auto chunk = static_cast<std::int64_t>(SharedMemoryChannel::kChunkBytes / sizeof(double));
  for (DType dtype : {DType::Float32, DType::Float64, DType::Int64}) {
    // Fewer elements than ranks leaves some segments empty; the last sizes span one and several chunks.
    for (std::int64_t n : {std::int64_t{1}, std::int64_t{7}, chunk, 3 * chunk + 5}) {
      for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Average, ReduceOp::Max}) {
        // Integers small enough to be exact in every dtype: rank r holds (i + 3r) % 17 at index i.
        std::vector<double> values(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) values[static_cast<std::size_t>(i)] = static_cast<double>((i + 3 * rank) % 17);
        Tensor t = from_vector<double>(values, {n}).to(dtype);
        channel->allreduce(t.raw_data(), n, dtype, op, yield);
        const std::vector<double> got = t.to_vector<double>();
        std::int64_t bad = -1;
        for (std::int64_t i = 0; i < n && bad < 0; ++i) {
          double sum = 0, max = 0;
          for (int r = 0; r < size; ++r) {
            const double v = static_cast<double>((i + 3 * r) % 17);
            sum += v;
            max = std::max(max, v);
          }
          double expected = op == ReduceOp::Max ? max : sum;
          if (op == ReduceOp::Average) expected = dtype == DType::Int64 ? std::trunc(sum / size) : sum / size;
          if (std::abs(got[static_cast<std::size_t>(i)] - expected) > 1e-6 * std::max(1.0, expected)) bad = i;
        }
        EXPECT_EQ(bad, -1) << reduce_op_name(op) << " of " << n << " " << dtype_name(dtype) << " differs at " << bad;
      }
    }
  }
}

TEST(SharedMemoryChannel, EveryRankGetsTheSameBits) {
  // Random floats: the rounding of a sum depends on the order of its terms. Each segment is reduced by one rank and
  // copied to the others, so the ranks agree bit for bit, and with the float64 average to float rounding.
  const auto channel = channel_over_the_job();
  if (!channel) GTEST_SKIP() << "one rank: no channel";
  const auto n = static_cast<std::int64_t>(3 * SharedMemoryChannel::kChunkBytes / sizeof(float) + 5);
  manual_seed(100 + static_cast<std::uint64_t>(environment().world_rank));
  const Tensor mine = randn({n});
  Tensor averaged = mine.clone();
  channel->allreduce(averaged.raw_data(), n, DType::Float32, ReduceOp::Average, yield);
  expect_same_average_on_every_rank(mine, averaged);
}

TEST(SharedMemoryChannel, SignaturesMatchOrNameEveryRank) {
  const auto channel = channel_over_the_job();
  if (!channel) GTEST_SKIP() << "one rank: no channel";
  const int rank = environment().world_rank;
  // More exchanges than the two places a rank posts its signatures in, alternating match and mismatch.
  for (std::int64_t sequence = 0; sequence < 5; ++sequence) {
    Signature mine{.sequence = sequence, .kind = CollectiveKind::Allreduce, .reduce_op = 0, .bytes = 64, .dtype = 0};
    if (sequence % 2 == 1 && rank == 0) mine.bytes = 32;
    const std::string message = channel->exchange_signatures(mine, yield);
    if (sequence % 2 == 0) {
      EXPECT_EQ(message, "") << "sequence " << sequence;
      continue;
    }
    const std::string seq = std::to_string(sequence);
    lamina::testing::expect_contains(message, {("rank 0 called allreduce(sum, 32 bytes of float32, sequence " + seq + ")").c_str(),
                                               ("called allreduce(sum, 64 bytes of float32, sequence " + seq + ")").c_str()});
    EXPECT_EQ(gathered(static_cast<std::int64_t>(std::hash<std::string>{}(message))),
              std::vector<std::int64_t>(static_cast<std::size_t>(environment().world_size),
                                        static_cast<std::int64_t>(std::hash<std::string>{}(message))))
        << "the ranks got different messages";
  }
}

TEST(SharedMemoryChannel, DifferentSizesFailOnEveryRankAndTheNextAllreduceWorks) {
  // What a group without signature checks relies on: the channel itself notices, instead of falling out of step.
  const auto channel = channel_over_the_job();
  if (!channel) GTEST_SKIP() << "one rank: no channel";
  const int rank = environment().world_rank, size = environment().world_size;
  // Rank 0 has one chunk more than the others: they would finish a step earlier and read each other's next one.
  const auto chunk = static_cast<std::int64_t>(SharedMemoryChannel::kChunkBytes / sizeof(float));
  const std::int64_t n = rank == 0 ? 2 * chunk : chunk;
  Tensor t = ones({n});
  const std::string message =
      lamina::testing::message_of<CollectiveError>([&] { channel->allreduce(t.raw_data(), n, DType::Float32, ReduceOp::Sum, yield); });
  lamina::testing::expect_contains(message, {"all-reduces", std::to_string(2 * chunk).c_str(), std::to_string(chunk).c_str(),
                                             "No data was exchanged"});
  EXPECT_EQ(t.to_vector<float>(), std::vector<float>(static_cast<std::size_t>(n), 1.0f));
  Tensor u = ones({5});
  channel->allreduce(u.raw_data(), 5, DType::Float32, ReduceOp::Sum, yield);
  EXPECT_EQ(u.to_vector<float>(), std::vector<float>(5, static_cast<float>(size)));
}

TEST(SharedMemoryChannel, SymmetricTensorsAreReducedInPlaceToTheSameBits) {
  const auto channel = channel_over_the_job();
  if (!channel) GTEST_SKIP() << "one rank: no channel";
  // Larger than a slot: in place, it needs no chunks.
  const auto n = static_cast<std::int64_t>(3 * SharedMemoryChannel::kChunkBytes / sizeof(float) + 5);
  Tensor t = channel->allocate_symmetric(n, DType::Float32);
  ASSERT_TRUE(t.defined());
  EXPECT_EQ(t.to_vector<float>(), std::vector<float>(static_cast<std::size_t>(n), 0.0f));
  manual_seed(200 + static_cast<std::uint64_t>(environment().world_rank));
  const Tensor mine = randn({n});
  for (int step = 0; step < 3; ++step) {  // the ranks' copies are written again after each
    t.copy_(mine);
    EXPECT_TRUE(channel->allreduce_in_place(t.raw_data(), n, DType::Float32, ReduceOp::Average, yield));
    expect_same_average_on_every_rank(mine, t);
  }
}

TEST(SharedMemoryChannel, InPlaceOnlyWhenEveryRankPassesTheSameSymmetricTensor) {
  const auto channel = channel_over_the_job();
  if (!channel) GTEST_SKIP() << "one rank: no channel";
  const int rank = environment().world_rank, size = environment().world_size;
  const float total = static_cast<float>(size * (size + 1) / 2);  // the sum of rank + 1 over the ranks
  Tensor symmetric = channel->allocate_symmetric(64, DType::Float32);
  ASSERT_TRUE(symmetric.defined());
  const Tensor private_copy = zeros({16});
  // What each rank passes in each case: the same slice of its copy; slices at different offsets; rank 0 a tensor of
  // its own.
  struct Case {
    const char* what;
    Tensor data;
    bool in_place;
  };
  for (const Case& c : {Case{"the same slice", symmetric.slice(0, 8, 24), true},
                        Case{"different slices", symmetric.slice(0, rank == 0 ? 0 : 8, rank == 0 ? 16 : 24), false},
                        Case{"a private tensor on rank 0", rank == 0 ? private_copy : symmetric.slice(0, 8, 24), false}}) {
    SCOPED_TRACE(c.what);
    symmetric.fill_(-1.0f);
    Tensor data = c.data;
    data.fill_(static_cast<float>(rank + 1));
    EXPECT_EQ(channel->allreduce_in_place(data.raw_data(), 16, DType::Float32, ReduceOp::Sum, yield), c.in_place);
    // Whichever way it went, the result is right, and nothing else of the copies changed.
    if (!c.in_place) channel->allreduce(data.raw_data(), 16, DType::Float32, ReduceOp::Sum, yield);
    EXPECT_EQ(data.to_vector<float>(), std::vector<float>(16, total));
    const std::vector<float> all = symmetric.to_vector<float>();
    EXPECT_EQ(std::count(all.begin(), all.end(), -1.0f), data.storage().data() == symmetric.storage().data() ? 48 : 64);
  }
  // After a symmetric tensor is freed, the next one is found on every rank.
  symmetric = Tensor();
  Tensor next = channel->allocate_symmetric(64, DType::Float32);
  next.fill_(1.0f);
  EXPECT_TRUE(channel->allreduce_in_place(next.raw_data(), 64, DType::Float32, ReduceOp::Sum, yield));
  EXPECT_EQ(next.to_vector<float>(), std::vector<float>(64, static_cast<float>(size)));
}

TEST(SharedMemoryChannel, ASymmetricTensorThatDoesNotFitIsUndefinedOnEveryRank) {
  const auto channel = channel_over_the_job();
  if (!channel) GTEST_SKIP() << "one rank: no channel";
  // 4 PiB per rank: more than any /dev/shm holds, so rank 0 cannot reserve the segment (what a full /dev/shm does).
  EXPECT_FALSE(channel->allocate_symmetric(std::int64_t{1} << 50, DType::Float32).defined());
  // The next one is made, and every rank finds the other's copy of it.
  Tensor t = channel->allocate_symmetric(8, DType::Float32);
  ASSERT_TRUE(t.defined());
  t.fill_(1.0f);
  EXPECT_TRUE(channel->allreduce_in_place(t.raw_data(), 8, DType::Float32, ReduceOp::Sum, yield));
  EXPECT_EQ(t.to_vector<float>(), std::vector<float>(8, static_cast<float>(environment().world_size)));
}

TEST(SharedMemoryChannel, SymmetricSizesAreComparedEvenWithoutTheGroupsSignatures) {
  const auto channel = channel_over_the_job();
  if (!channel) GTEST_SKIP() << "one rank: no channel";
  const int rank = environment().world_rank;
  // Ranks asking for different sizes would lay out the segment differently: an error on every rank, naming both.
  const std::string message = lamina::testing::message_of<CollectiveError>(
      [&] { channel->allocate_symmetric(rank == 0 ? 16 : 8, DType::Float32); });
  lamina::testing::expect_contains(message, {"different sizes, from 32 to 64 bytes", "Nothing was allocated"});
  const std::string negative =
      lamina::testing::message_of<std::invalid_argument>([&] { channel->allocate_symmetric(-3, DType::Float64); });
  lamina::testing::expect_contains(negative, {"-3 elements of float64", "negative size"});
  Tensor t = channel->allocate_symmetric(4, DType::Float32);
  ASSERT_TRUE(t.defined());
  t.fill_(2.0f);
  EXPECT_TRUE(channel->allreduce_in_place(t.raw_data(), 4, DType::Float32, ReduceOp::Max, yield));
  EXPECT_EQ(t.to_vector<float>(), std::vector<float>(4, 2.0f));
}
