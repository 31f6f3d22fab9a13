// The caching device allocator's bookkeeping, on a fake device: host memory with a capacity, counting its calls.
#include <gtest/gtest.h>

#include <cstdlib>
#include <unordered_map>

#include <lamina/core/block_cache.h>

#include "expect.h"

using namespace lamina;

namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;

struct FakeDevice {
  explicit FakeDevice(std::size_t capacity) : capacity(capacity) {}

  BlockCache::System system() {
    return {[this](std::size_t n) -> void* {
              if (in_use + n > capacity) return nullptr;
              void* p = std::malloc(n);
              in_use += n;
              ++mallocs;
              live[p] = n;
              return p;
            },
            [this](void* p) {
              in_use -= live.at(p);
              ++frees;
              live.erase(p);
              std::free(p);
            },
            [this] { return format_bytes(in_use) + " of " + format_bytes(capacity) + " in use"; }};
  }

  std::size_t capacity;
  std::size_t in_use = 0;
  int mallocs = 0, frees = 0;
  std::unordered_map<void*, std::size_t> live;  // segment -> size
};

const BlockCache::Stream kStreamA = nullptr;
const auto kStreamB = reinterpret_cast<BlockCache::Stream>(0x1);

}  // namespace

TEST(BlockCache, RoundsRequestsAndPicksSegmentSizes) {
  EXPECT_EQ(BlockCache::round_size(0), 512u);
  EXPECT_EQ(BlockCache::round_size(1), 512u);
  EXPECT_EQ(BlockCache::round_size(513), 1024u);
  EXPECT_EQ(BlockCache::segment_size(512), 2 * MiB);
  EXPECT_EQ(BlockCache::segment_size(MiB), 2 * MiB);
  EXPECT_EQ(BlockCache::segment_size(MiB + 512), 20 * MiB);
  EXPECT_EQ(BlockCache::segment_size(10 * MiB), 10 * MiB);
  EXPECT_EQ(BlockCache::segment_size(10 * MiB + 1), 12 * MiB);
}

TEST(BlockCache, ATrainingStepsRepeatedRequestsHitTheCache) {
  FakeDevice device(1024 * MiB);
  BlockCache cache(device.system(), "cuda:0");
  const std::size_t sizes[] = {4000, 300 * 1024, 3 * MiB, 40 * MiB, 100};
  auto step = [&] {
    std::vector<void*> blocks;
    for (std::size_t s : sizes) blocks.push_back(cache.allocate(s, kStreamA));
    for (void* p : blocks) cache.deallocate(p);
  };
  step();
  const int mallocs = device.mallocs;
  const AllocatorStats first = cache.stats();
  for (int i = 0; i < 50; ++i) step();
  EXPECT_EQ(device.mallocs, mallocs);
  EXPECT_EQ(device.frees, 0);
  EXPECT_EQ(cache.stats().reserved, first.reserved);
  EXPECT_EQ(cache.stats().allocated, 0u);
  // The small requests share one 2 MiB segment; 3 MiB a 20 MiB segment; 40 MiB its own.
  EXPECT_EQ(mallocs, 3);
  EXPECT_EQ(first.reserved, 2 * MiB + 20 * MiB + 40 * MiB);
}

TEST(BlockCache, SplitsASegmentAndMergesTheFreedPieces) {
  FakeDevice device(1024 * MiB);
  BlockCache cache(device.system(), "cuda:0");
  char* a = static_cast<char*>(cache.allocate(1000, kStreamA));
  char* b = static_cast<char*>(cache.allocate(1000, kStreamA));
  char* c = static_cast<char*>(cache.allocate(1000, kStreamA));
  EXPECT_EQ(device.mallocs, 1);
  EXPECT_EQ(b, a + 1024);  // carved from the same segment, at rounded offsets
  EXPECT_EQ(c, b + 1024);
  EXPECT_EQ(cache.stats().allocated, 3 * 1024u);
  // Freeing the middle, then its neighbours, leaves one whole free segment that serves a request of its size.
  cache.deallocate(b);
  cache.deallocate(a);
  cache.deallocate(c);
  void* whole = cache.allocate(2 * MiB - 512, kStreamA);  // a large request: not from the small pool
  EXPECT_EQ(device.mallocs, 2);
  cache.deallocate(whole);
  void* small_again = cache.allocate(MiB, kStreamA);
  EXPECT_EQ(small_again, a);  // merged back: the 1 MiB request fits at the segment's start
  EXPECT_EQ(device.mallocs, 2);
  cache.deallocate(small_again);
}

TEST(BlockCache, AStreamNeverGetsABlockFreedOnAnother) {
  FakeDevice device(1024 * MiB);
  BlockCache cache(device.system(), "cuda:0");
  void* a = cache.allocate(4096, kStreamA);
  cache.deallocate(a);
  void* b = cache.allocate(4096, kStreamB);
  EXPECT_NE(b, a);
  EXPECT_EQ(device.mallocs, 2);
  void* a2 = cache.allocate(4096, kStreamA);
  EXPECT_EQ(a2, a);
  cache.deallocate(a2);
  cache.deallocate(b);
}

TEST(BlockCache, StatisticsTrackAllocatedReservedAndPeak) {
  FakeDevice device(1024 * MiB);
  BlockCache cache(device.system(), "cuda:0");
  void* a = cache.allocate(12 * MiB, kStreamA);
  void* b = cache.allocate(16 * MiB, kStreamA);
  cache.deallocate(a);
  const AllocatorStats s = cache.stats();
  EXPECT_EQ(s.allocated, 16 * MiB);
  EXPECT_EQ(s.peak_allocated, 28 * MiB);
  EXPECT_EQ(s.reserved, 28 * MiB);
  EXPECT_EQ(s.system_allocs, 2u);
  cache.release_cached();
  EXPECT_EQ(cache.stats().reserved, 16 * MiB);
  EXPECT_EQ(device.frees, 1);
  cache.deallocate(b);
}

TEST(BlockCache, ALargeRequestDoesNotSplitAMuchLargerCachedBlock) {
  FakeDevice device(1024 * MiB);
  BlockCache cache(device.system(), "cuda:0");
  void* big = cache.allocate(100 * MiB, kStreamA);
  cache.deallocate(big);
  void* p = cache.allocate(12 * MiB, kStreamA);
  EXPECT_NE(p, big);
  EXPECT_EQ(device.mallocs, 2);
  cache.deallocate(p);
}

TEST(BlockCache, ReturnsTheCacheToTheDeviceBeforeReportingOutOfMemory) {
  FakeDevice device(64 * MiB);
  BlockCache cache(device.system(), "cuda:0");
  cache.deallocate(cache.allocate(40 * MiB, kStreamA));
  void* p = cache.allocate(50 * MiB, kStreamB);  // fits only after the cached 40 MiB went back
  EXPECT_EQ(device.frees, 1);
  EXPECT_EQ(cache.stats().reserved, 50 * MiB);
  cache.deallocate(p);
}

TEST(BlockCache, OutOfMemoryNamesTheRequestAndWhatIsHeld) {
  FakeDevice device(64 * MiB);
  BlockCache cache(device.system(), "cuda:1");
  void* held = cache.allocate(30 * MiB, kStreamA);
  const std::string message = lamina::testing::message_of<OutOfMemoryError>([&] { cache.allocate(40 * MiB, kStreamA); });
  lamina::testing::expect_contains(message, {"cuda:1 out of memory: tried to allocate 40.00 MiB",
                                     "lamina holds 30.00 MiB (30.00 MiB in tensors",
                                     "device: 30.00 MiB of 64.00 MiB in use"});
  cache.deallocate(held);
}

TEST(BlockCache, RejectsAPointerItDidNotHandOut) {
  FakeDevice device(64 * MiB);
  BlockCache cache(device.system(), "cuda:0");
  int x = 0;
  lamina::testing::expect_contains(lamina::testing::message_of<std::invalid_argument>([&] { cache.deallocate(&x); }),
                           {"cuda:0: deallocate of a pointer"});
}

TEST(BlockCache, DestructionReturnsEverySegment) {
  FakeDevice device(1024 * MiB);
  {
    BlockCache cache(device.system(), "cuda:0");
    cache.deallocate(cache.allocate(100, kStreamA));
    cache.deallocate(cache.allocate(30 * MiB, kStreamB));
  }
  EXPECT_TRUE(device.live.empty());
  EXPECT_EQ(device.in_use, 0u);
}
