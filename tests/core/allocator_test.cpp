#include <gtest/gtest.h>

#include <sanitizer/asan_interface.h>

#include <lamina/lamina.h>

using namespace lamina;

TEST(Allocator, ReusesAFreedBlockOfTheSameSize) {
  CachingHostAllocator& allocator = CachingHostAllocator::instance();
  void* p = allocator.allocate(1 << 20);
  allocator.deallocate(p, 1 << 20);
  const std::uint64_t misses = allocator.stats().system_allocs;
  void* q = allocator.allocate(1 << 20);
  EXPECT_EQ(q, p);
  EXPECT_EQ(allocator.stats().system_allocs, misses);
  allocator.deallocate(q, 1 << 20);
}

// A training step allocates the same sizes every iteration: after warming up, none may reach the system. (Two
// warm-up rounds: the second needs a new block for the result while the first round's result is still held.)
TEST(Allocator, RepeatedOpsAllocateNothingNewAfterWarmUp) {
  const Tensor a = rand({1 << 20});
  Tensor b = relu(a + a);
  b = relu(a + a);
  const std::uint64_t misses = CachingHostAllocator::instance().stats().system_allocs;
  for (int i = 0; i < 10; ++i) b = relu(a + a);
  EXPECT_EQ(CachingHostAllocator::instance().stats().system_allocs, misses);
}

TEST(Allocator, StatsTrackAllocatedBytes) {
  CachingHostAllocator& allocator = CachingHostAllocator::instance();
  const std::size_t before = allocator.stats().allocated;
  void* p = allocator.allocate(5000);
  EXPECT_EQ(allocator.stats().allocated, before + round_allocation(5000));
  EXPECT_EQ(round_allocation(5000), 8192u);
  allocator.deallocate(p, 5000);
  EXPECT_EQ(allocator.stats().allocated, before);
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
