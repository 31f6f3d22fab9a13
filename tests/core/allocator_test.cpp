#include <gtest/gtest.h>

#include <sanitizer/asan_interface.h>

#include <lamina/lamina.h>

using namespace lamina;

TEST(Allocator, RoundsSizesSoThatTheyRepeat) {
  EXPECT_EQ(round_allocation(0), 64u);
  EXPECT_EQ(round_allocation(1), 64u);
  EXPECT_EQ(round_allocation(65), 128u);
  EXPECT_EQ(round_allocation(4096), 4096u);
  EXPECT_EQ(round_allocation(4097), 8192u);
}

TEST(Allocator, ReusesAFreedBlockOfTheSameSize) {
  CachingHostAllocator& allocator = CachingHostAllocator::instance();
  const std::size_t size = 3 << 20;  // above glibc's mmap threshold: exactly the blocks that churn
  void* first = allocator.allocate(size);
  allocator.deallocate(first, size);
  const AllocatorStats before = allocator.stats();
  for (int i = 0; i < 100; ++i) {
    void* p = allocator.allocate(size);
    EXPECT_EQ(p, first);
    static_cast<char*>(p)[size - 1] = 1;
    allocator.deallocate(p, size);
  }
  const AllocatorStats after = allocator.stats();
  EXPECT_EQ(after.system_allocs, before.system_allocs);
  EXPECT_EQ(after.allocated, before.allocated);
  EXPECT_EQ(after.reserved, before.reserved);
}

TEST(Allocator, TensorsOfARepeatedStepComeFromTheCache) {
  // What a training step does: the same shapes every iteration.
  auto step = [] {
    Tensor a = ones({256, 300});
    Tensor b = add(mul(a, 2.0), a);
    return sum(b).item();
  };
  step();
  const std::uint64_t misses = CachingHostAllocator::instance().stats().system_allocs;
  for (int i = 0; i < 20; ++i) EXPECT_EQ(step(), 256 * 300 * 3);
  EXPECT_EQ(CachingHostAllocator::instance().stats().system_allocs, misses);
}

TEST(Allocator, StatsTrackLiveBytesAndReleaseReturnsTheCache) {
  CachingHostAllocator& allocator = CachingHostAllocator::instance();
  const AllocatorStats start = allocator.stats();
  void* p = allocator.allocate(5000);  // rounds to 8192
  EXPECT_EQ(allocator.stats().allocated, start.allocated + 8192);
  EXPECT_GE(allocator.stats().peak_allocated, start.allocated + 8192);
  allocator.deallocate(p, 5000);
  EXPECT_EQ(allocator.stats().allocated, start.allocated);
  allocator.release_cached();
  EXPECT_EQ(allocator.stats().reserved, allocator.stats().allocated);
  // With a zero cache limit freed blocks go straight back to the system.
  allocator.set_cache_limit(0);
  void* q = allocator.allocate(5000);
  allocator.deallocate(q, 5000);
  EXPECT_EQ(allocator.stats().reserved, allocator.stats().allocated);
  allocator.set_cache_limit(std::size_t{4} << 30);
}

// Cached blocks never return to malloc, so AddressSanitizer learns about them from the allocator's poisoning.
TEST(Allocator, CachedBlocksArePoisonedUnderAddressSanitizer) {
#if defined(__SANITIZE_ADDRESS__)
  CachingHostAllocator& allocator = CachingHostAllocator::instance();
  char* p = static_cast<char*>(allocator.allocate(100));
  EXPECT_FALSE(__asan_address_is_poisoned(p + 99));
  EXPECT_TRUE(__asan_address_is_poisoned(p + 100));  // the rounding slack up to 128 bytes
  allocator.deallocate(p, 100);
  EXPECT_TRUE(__asan_address_is_poisoned(p));
#else
  GTEST_SKIP() << "only meaningful in a -DLAMINA_SANITIZE=ON build";
#endif
}
