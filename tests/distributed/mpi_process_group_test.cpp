// Collective tests: every rank runs each test, and each checks its own results.
#include <algorithm>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include <lamina/distributed/environment.h>
#include <lamina/distributed/mpi_process_group.h>
#include <lamina/distributed/shared_memory_channel.h>
#include <lamina/lamina.h>

#include "expect.h"

using namespace lamina;
using lamina::testing::expect_contains;
using lamina::testing::message_of;
using namespace lamina::distributed;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// What rank r holds at index i: small integers (plus 2^58 for int64, which a detour through double would round),
// so sums are exact in every dtype and order, and the largest value moves between ranks along the tensor.
template <typename T> T value(int r, std::int64_t i) {
  const std::int64_t small = (i * 7 + r * 13) % 23 - 11;
  if constexpr (std::is_same_v<T, std::int64_t>) return (std::int64_t{1} << 58) + small;
  return static_cast<T>(small);
}

template <typename T> Tensor filled(std::int64_t n, int r, std::int64_t first = 0) {
  std::vector<T> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = value<T>(r, first + i);
  return from_vector<T>(v, {n});
}

template <typename T> T reduce_over_ranks(int size, std::int64_t i, ReduceOp op) {
  T acc = value<T>(0, i);
  for (int r = 1; r < size; ++r) acc = op == ReduceOp::Max ? std::max(acc, value<T>(r, i)) : acc + value<T>(r, i);
  return op == ReduceOp::Average ? acc / static_cast<T>(size) : acc;
}

// The index of the first element where `got` differs from expected(i), or -1.
template <typename T, typename F> std::int64_t first_mismatch(const Tensor& got, F expected) {
  const std::vector<T> v = got.to_vector<T>();
  for (std::size_t i = 0; i < v.size(); ++i)
    if (v[i] != expected(static_cast<std::int64_t>(i))) return static_cast<std::int64_t>(i);
  return -1;
}

template <typename T> std::int64_t chunk_elements() {
  return static_cast<std::int64_t>(MpiProcessGroup::kChunkBytes / sizeof(T));
}

// The two ways the ranks of one node talk: through a SharedMemoryChannel (the default) and through MPI alone.
ProcessGroupOptions shared_memory(bool on) {
  ProcessGroupOptions options;
  options.shared_memory = on;
  return options;
}

template <typename T> class MpiCollectives : public ::testing::Test {};
using DTypes = ::testing::Types<float, double, std::int64_t>;
TYPED_TEST_SUITE(MpiCollectives, DTypes);

}  // namespace

TYPED_TEST(MpiCollectives, AllreduceSumAverageMaxOfOddAndLargeSizes) {
  using T = TypeParam;
  // A chunk of kRingMinBytes runs as a ring; the tails of the two largest are below it and go through MPI_Allreduce.
  // Through shared memory: fewer elements than ranks (empty segments), the channel's chunk and several of them, and
  // the largest, above kSharedMemoryFromBytes. Through shared memory, every size also as a symmetric tensor, which is
  // reduced in place whatever its size.
  const auto ring = static_cast<std::int64_t>(MpiProcessGroup::kRingMinBytes / sizeof(T));
  const auto channel = static_cast<std::int64_t>(SharedMemoryChannel::kChunkBytes / sizeof(T));
  const auto large = static_cast<std::int64_t>(MpiProcessGroup::kSharedMemoryFromBytes / sizeof(T));
  for (bool through_shared_memory : {true, false}) {
    MpiProcessGroup pg(shared_memory(through_shared_memory));
    for (std::int64_t n : {std::int64_t{0}, std::int64_t{1}, std::int64_t{7}, std::int64_t{1023}, std::int64_t{4099},
                           channel, 3 * channel + 5, ring - 1, ring + 5, 2 * chunk_elements<T>() + 13, large + 13}) {
      Tensor symmetric = pg.allocate_symmetric(n, dtype_of<T>(), Device::cpu());
      EXPECT_EQ(symmetric.defined(), pg.uses_shared_memory());
      for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Average, ReduceOp::Max}) {
        for (Tensor t : {filled<T>(n, pg.rank()), symmetric}) {
          if (!t.defined()) continue;
          t.copy_(filled<T>(n, pg.rank()));
          pg.allreduce(t, op)->wait();
          const std::int64_t bad = first_mismatch<T>(t, [&](std::int64_t i) { return reduce_over_ranks<T>(pg.size(), i, op); });
          EXPECT_EQ(bad, -1) << reduce_op_name(op) << " of " << n << " elements differs at index " << bad
                             << (t.storage().data() == symmetric.storage().data() ? " (symmetric)"
                                 : through_shared_memory                          ? " (shared memory)"
                                                                                  : " (MPI)");
        }
      }
    }
  }
}

TYPED_TEST(MpiCollectives, BroadcastFromTheLastRank) {
  using T = TypeParam;
  MpiProcessGroup pg;
  const int root = pg.size() - 1;
  for (std::int64_t n : {std::int64_t{0}, std::int64_t{5}, chunk_elements<T>() + 3}) {
    Tensor t = filled<T>(n, pg.rank());
    pg.broadcast(t, root)->wait();
    const std::int64_t bad = first_mismatch<T>(t, [&](std::int64_t i) { return value<T>(root, i); });
    EXPECT_EQ(bad, -1) << n << " elements differ from root " << root << " at index " << bad;
  }
}

TYPED_TEST(MpiCollectives, AllgatherPutsEachRanksInputInItsSlot) {
  using T = TypeParam;
  MpiProcessGroup pg;
  // The large case spans several chunks of the staging buffer.
  for (std::int64_t n : {std::int64_t{0}, std::int64_t{3}, chunk_elements<T>() / pg.size() + 7}) {
    const Tensor input = filled<T>(n, pg.rank());
    std::vector<Tensor> outputs;
    for (int r = 0; r < pg.size(); ++r) outputs.push_back(zeros({n}, {.dtype = dtype_of<T>()}));
    pg.allgather(outputs, input)->wait();
    for (int r = 0; r < pg.size(); ++r) {
      const std::int64_t bad = first_mismatch<T>(outputs[static_cast<std::size_t>(r)], [&](std::int64_t i) { return value<T>(r, i); });
      EXPECT_EQ(bad, -1) << n << " elements from rank " << r << " differ at index " << bad;
    }
  }
}

TYPED_TEST(MpiCollectives, ReduceScatterGivesEachRankItsReducedBlock) {
  using T = TypeParam;
  MpiProcessGroup pg;
  const int size = pg.size();
  // The large case is reduced in chunks packed from every rank's block.
  for (std::int64_t m : {std::int64_t{0}, std::int64_t{1}, std::int64_t{5}, chunk_elements<T>() / size + 3}) {
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Average, ReduceOp::Max}) {
      const Tensor input = filled<T>(m * size, pg.rank());
      Tensor output = zeros({m}, {.dtype = dtype_of<T>()});
      pg.reduce_scatter(output, input, op)->wait();
      const std::int64_t bad = first_mismatch<T>(
          output, [&](std::int64_t j) { return reduce_over_ranks<T>(size, pg.rank() * m + j, op); });
      EXPECT_EQ(bad, -1) << reduce_op_name(op) << " of blocks of " << m << " differs at index " << bad;
    }
  }
}

TEST(MpiProcessGroup, TwoRanksOnOneNodeTalkThroughSharedMemoryUnlessTurnedOff) {
  // ctest runs these tests on one node.
  EXPECT_EQ(MpiProcessGroup().uses_shared_memory(), environment().world_size == 2);
  EXPECT_FALSE(MpiProcessGroup(shared_memory(false)).uses_shared_memory());
}

TEST(MpiProcessGroup, SymmetricTensorsAreZeroedAndTheirSizesCompared) {
  MpiProcessGroup pg;
  const Tensor t = pg.allocate_symmetric(1000, DType::Float64, Device::cpu());
  if (!pg.uses_shared_memory()) {
    EXPECT_FALSE(t.defined()) << "no symmetric memory without a SharedMemoryChannel";
    return;
  }
  EXPECT_EQ(t.shape(), (Shape{1000}));
  EXPECT_EQ(t.dtype(), DType::Float64);
  EXPECT_EQ(t.to_vector<double>(), std::vector<double>(1000, 0.0));
  // Ranks asking for different sizes: an error on both, naming both.
  const std::string message = lamina::testing::message_of<CollectiveError>(
      [&] { pg.allocate_symmetric(pg.rank() == 0 ? 8 : 16, DType::Float32, Device::cpu()); });
  lamina::testing::expect_contains(message, {"allocate_symmetric(32 bytes of float32", "allocate_symmetric(64 bytes of float32"});
}

TEST(MpiProcessGroup, ASymmetricTensorOnOneRankOnlyIsReducedTheOrdinaryWay) {
  // The ranks agree on the placement before anything moves: where only rank 0 passes a symmetric tensor, all of
  // them take the path an ordinary tensor of that size takes (the channel's slots at 1000 elements, MPI at 4 MiB).
  MpiProcessGroup pg;
  for (std::int64_t n : {std::int64_t{1000}, std::int64_t{1} << 20}) {
    Tensor symmetric = pg.allocate_symmetric(n, DType::Float32, Device::cpu());
    Tensor t = pg.rank() == 0 && symmetric.defined() ? symmetric : zeros({n});
    t.copy_(filled<float>(n, pg.rank()));
    pg.allreduce(t, ReduceOp::Sum)->wait();
    const std::int64_t bad = first_mismatch<float>(t, [&](std::int64_t i) { return reduce_over_ranks<float>(pg.size(), i, ReduceOp::Sum); });
    EXPECT_EQ(bad, -1) << n << " elements differ at index " << bad;
  }
}

TEST(MpiProcessGroup, WorkRecordsWhenItCompleted) {
  MpiProcessGroup pg;
  Tensor t = ones({16});
  const auto before = Clock::now();
  auto work = pg.allreduce(t);
  work->wait();
  const auto after = Clock::now();
  EXPECT_GE(work->completed_at(), before);
  EXPECT_LE(work->completed_at(), after);
}

TEST(MpiProcessGroup, Int64AverageTruncatesTowardZero) {
  MpiProcessGroup pg;
  const std::int64_t n = pg.size();
  Tensor t = from_vector<std::int64_t>({-(pg.rank() + 1), pg.rank() + 1}, {2});
  pg.allreduce(t, ReduceOp::Average)->wait();
  // The sums are ∓n(n+1)/2; C++ division truncates: -3/2 = -1 at 2 ranks, -10/4 = -2 at 4.
  EXPECT_EQ(t.to_vector<std::int64_t>(), (std::vector<std::int64_t>{-(n * (n + 1) / 2) / n, (n * (n + 1) / 2) / n}));
}

TEST(MpiProcessGroup, DestructionRunsWhatIsQueued) {
  Tensor t = ones({100});
  {
    MpiProcessGroup pg;
    pg.allreduce(t);  // never waited for
  }
  EXPECT_EQ(t.to_vector<float>()[99], static_cast<float>(environment().world_size));
}

TEST(MpiProcessGroup, BarrierWaitsForTheLastRank) {
  MpiProcessGroup pg;
  pg.barrier()->wait();  // start both clocks together: a rank may arrive late from the previous test
  const auto start = Clock::now();
  if (pg.rank() == 0) std::this_thread::sleep_for(300ms);
  pg.barrier()->wait();
  EXPECT_GE(Clock::now() - start, 250ms) << "rank " << pg.rank() << " left the barrier before rank 0 reached it";
}

TEST(MpiProcessGroup, CollectivesAreAsynchronous) {
  MpiProcessGroup pg;
  Tensor t = ones({1000});
  if (pg.rank() != 0) std::this_thread::sleep_for(300ms);
  const auto start = Clock::now();
  std::shared_ptr<Work> work = pg.allreduce(t);
  if (pg.rank() == 0) {
    EXPECT_LT(Clock::now() - start, 100ms) << "allreduce() blocked until the peers arrived";
    EXPECT_FALSE(work->is_completed());
  }
  work->wait();
  EXPECT_TRUE(work->is_completed());
  EXPECT_EQ(t.to_vector<float>()[999], static_cast<float>(pg.size()));
}

TEST(MpiProcessGroup, ManyCollectivesInFlightWaitedInReverseOrder) {
  MpiProcessGroup pg;
  EXPECT_EQ(pg.next_sequence_number(), 0u);
  const ReduceOp ops[] = {ReduceOp::Sum, ReduceOp::Average, ReduceOp::Max};
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Work>> works;
  for (int k = 0; k < 60; ++k) {
    // One tensor larger than a chunk among many small ones; a broadcast and a barrier mixed in.
    const std::int64_t n = k == 17 ? chunk_elements<double>() + 11 : 1 + (k * 379) % 5000;
    tensors.push_back(filled<double>(n, pg.rank(), k));
    if (k % 10 == 9) {
      works.push_back(pg.broadcast(tensors.back(), k % pg.size()));
      works.push_back(pg.barrier());
    } else {
      works.push_back(pg.allreduce(tensors.back(), ops[k % 3]));
    }
  }
  EXPECT_EQ(pg.next_sequence_number(), works.size());
  works.back()->wait();
  // Collectives run in issue order: the last one done means all are.
  for (const auto& w : works) EXPECT_TRUE(w->is_completed());
  for (auto it = works.rbegin(); it != works.rend(); ++it) (*it)->wait();
  for (int k = 0; k < 60; ++k) {
    const Tensor& t = tensors[static_cast<std::size_t>(k)];
    const std::int64_t bad = first_mismatch<double>(t, [&](std::int64_t i) {
      if (k % 10 == 9) return value<double>(k % pg.size(), k + i);
      // reduce_over_ranks uses index i from 0; these tensors start at index k.
      double acc = value<double>(0, k + i);
      for (int r = 1; r < pg.size(); ++r)
        acc = ops[k % 3] == ReduceOp::Max ? std::max(acc, value<double>(r, k + i)) : acc + value<double>(r, k + i);
      return ops[k % 3] == ReduceOp::Average ? acc / pg.size() : acc;
    });
    EXPECT_EQ(bad, -1) << "collective " << k << " differs at index " << bad;
  }
}

TEST(MpiProcessGroup, SizeMismatchFailsOnEveryRankNamingBothSignatures) {
  for (bool through_shared_memory : {true, false}) {
    SCOPED_TRACE(through_shared_memory ? "shared memory" : "MPI");
    MpiProcessGroup pg(shared_memory(through_shared_memory));
    // Rank 0 all-reduces 4 floats while the others all-reduce 8.
    Tensor t = full({pg.rank() == 0 ? 4 : 8}, 1.0);
    const auto start = Clock::now();
    const std::string message = message_of<CollectiveError>([&] { pg.allreduce(t)->wait(); });
    EXPECT_LT(Clock::now() - start, 5s);
    const std::string others = pg.size() == 2 ? "rank 1" : "ranks 1,2,3";
    EXPECT_NE(message.find("MpiProcessGroup rank " + std::to_string(pg.rank()) + " of " + std::to_string(pg.size())), std::string::npos) << message;
    EXPECT_NE(message.find("rank 0 called allreduce(sum, 16 bytes of float32, sequence 0)"), std::string::npos) << message;
    EXPECT_NE(message.find(others + " called allreduce(sum, 32 bytes of float32, sequence 0)"), std::string::npos) << message;
    EXPECT_EQ(t.to_vector<float>()[0], 1.0f) << "data moved despite the mismatch";

    // Every rank skipped the mismatched collective alike, so the group is still in step.
    Tensor u = full({3}, 2.0, {.dtype = DType::Int64});
    pg.allreduce(u)->wait();
    EXPECT_EQ(u.to_vector<std::int64_t>(), std::vector<std::int64_t>(3, 2 * pg.size()));
  }
}

TEST(MpiProcessGroup, DifferentCollectivesFailNamingBoth) {
  for (bool through_shared_memory : {true, false}) {
    SCOPED_TRACE(through_shared_memory ? "shared memory" : "MPI");
    MpiProcessGroup pg(shared_memory(through_shared_memory));
    Tensor t = zeros({2}, {.dtype = DType::Float64});
    const std::string message = message_of<CollectiveError>([&] { (pg.rank() == 0 ? pg.broadcast(t, 0) : pg.barrier())->wait(); });
    EXPECT_NE(message.find("rank 0 called broadcast(root 0, 16 bytes of float64, sequence 0)"), std::string::npos) << message;
    EXPECT_NE(message.find("called barrier(sequence 0)"), std::string::npos) << message;
    // Same for a reduce op that differs.
    Tensor u = ones({2});
    const std::string ops = message_of<CollectiveError>([&] { pg.allreduce(u, pg.rank() == 0 ? ReduceOp::Max : ReduceOp::Average)->wait(); });
    EXPECT_NE(ops.find("allreduce(max, 8 bytes of float32, sequence 1)"), std::string::npos) << ops;
    EXPECT_NE(ops.find("allreduce(average, 8 bytes of float32, sequence 1)"), std::string::npos) << ops;
  }
}

TEST(MpiProcessGroup, TimeoutNamesTheCollectiveAndRecoversWhenThePeersArrive) {
  // Rank 0 waits 300 ms for peers that come 1.5 s late; they wait longer, so only rank 0 times out.
  ProcessGroupOptions options;
  options.timeout = environment().world_rank == 0 ? 300ms : 20s;
  MpiProcessGroup pg(options);
  Tensor t = ones({256});
  Tensor u = full({256}, 2.0);
  if (pg.rank() == 0) {
    const auto start = Clock::now();
    std::shared_ptr<Work> running = pg.allreduce(t);
    std::shared_ptr<Work> queued = pg.allreduce(u);
    const std::string late = message_of<CollectiveError>([&] { queued->wait(); });
    EXPECT_GE(Clock::now() - start, 250ms);
    EXPECT_LT(Clock::now() - start, 1200ms);
    EXPECT_NE(late.find("MpiProcessGroup rank 0 of " + std::to_string(pg.size()) +
                        ": allreduce(sum, 1024 bytes of float32, sequence 1) did not complete within 300 ms"),
              std::string::npos)
        << late;
    EXPECT_NE(late.find("it is queued behind allreduce(sum, 1024 bytes of float32, sequence 0), which is stuck"),
              std::string::npos)
        << late;
    const std::string stuck = message_of<CollectiveError>([&] { running->wait(); });
    EXPECT_NE(stuck.find("allreduce(sum, 1024 bytes of float32, sequence 0) did not complete"), std::string::npos) << stuck;
    const std::string peers = pg.size() == 2 ? "rank 1" : "ranks 1-" + std::to_string(pg.size() - 1);
    EXPECT_NE(stuck.find("missing: " + peers + " on " + environment().hostname), std::string::npos) << stuck;
    EXPECT_EQ(stuck_collectives(), 2);
    // The peers arrive: both collectives complete, and the rank is no longer counted as stuck.
    while (!queued->is_completed() && Clock::now() - start < 15s) std::this_thread::sleep_for(10ms);
    EXPECT_NO_THROW(running->wait());
    EXPECT_NO_THROW(queued->wait());
    EXPECT_EQ(stuck_collectives(), 0);
  } else {
    std::this_thread::sleep_for(1500ms);
    pg.allreduce(t)->wait();
    pg.allreduce(u)->wait();
  }
  EXPECT_EQ(t.to_vector<float>()[0], static_cast<float>(pg.size()));
  EXPECT_EQ(u.to_vector<float>()[255], static_cast<float>(2 * pg.size()));
}

TEST(MpiProcessGroup, TimeoutNamesTheRanksThatDidNotArrive) {
  // The last rank comes 1.5 s late; the others time out after 300 ms, find out who is missing from each other,
  // and then complete the collective when it arrives.
  const int last = environment().world_size - 1;
  ProcessGroupOptions options;
  options.timeout = environment().world_rank == last ? 20s : 300ms;
  MpiProcessGroup pg(options);
  Tensor t = ones({16});
  if (pg.rank() != last) {
    std::shared_ptr<Work> work = pg.allreduce(t);
    const std::string message = message_of<CollectiveError>([&] { work->wait(); });
    const std::string host = environment().hostname;
    EXPECT_NE(message.find("MpiProcessGroup rank " + std::to_string(pg.rank()) + " of " + std::to_string(pg.size()) +
                           ": allreduce(sum, 64 bytes of float32, sequence 0) did not complete within 300 ms; missing: rank " +
                           std::to_string(last) + " on " + host + " (never arrived in it"),
              std::string::npos)
        << message;
    const std::string waiting = last == 1 ? "rank 0" : "ranks 0-" + std::to_string(last - 1);
    EXPECT_NE(message.find("waiting: " + waiting + " on " + host), std::string::npos) << message;
    const auto start = Clock::now();
    while (!work->is_completed() && Clock::now() - start < 15s) std::this_thread::sleep_for(10ms);
    EXPECT_NO_THROW(work->wait());
  } else {
    std::this_thread::sleep_for(1500ms);
    pg.allreduce(t)->wait();
  }
  EXPECT_EQ(t.to_vector<float>()[0], static_cast<float>(pg.size()));
  EXPECT_EQ(stuck_collectives(), 0);
}

TEST(MpiProcessGroup, BadArgumentsNameTheCollectiveAndTheTensors) {
  MpiProcessGroup pg;
  Tensor strided = zeros({4, 3}).t();
  try {
    pg.allreduce(strided);
    FAIL() << "a strided view was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("MpiProcessGroup::allreduce"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("float32 [3, 4]"), std::string::npos) << e.what();
  }
  std::vector<Tensor> too_few{zeros({2})};
  if (pg.size() > 1) {
    EXPECT_THROW(pg.allgather(too_few, zeros({2})), std::invalid_argument);
  }
  std::vector<Tensor> wrong_shape(static_cast<std::size_t>(pg.size()), zeros({3}));
  EXPECT_THROW(pg.allgather(wrong_shape, zeros({2})), std::invalid_argument);
  Tensor out = zeros({3});
  try {
    pg.reduce_scatter(out, zeros({3 * pg.size() + 1}));
    FAIL() << "a reduce_scatter input of the wrong size was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("MpiProcessGroup::reduce_scatter"), std::string::npos) << e.what();
  }
  Tensor mixed = zeros({3 * pg.size()}, {.dtype = DType::Float64});
  EXPECT_THROW(pg.reduce_scatter(out, mixed), std::invalid_argument);
  EXPECT_THROW(pg.broadcast(out, pg.size()), std::invalid_argument);
  EXPECT_THROW(pg.broadcast(out, -1), std::invalid_argument);
  // None of these reached the wire.
  EXPECT_EQ(pg.next_sequence_number(), 0u);
}
