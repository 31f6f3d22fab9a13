#pragma once
// A caching host allocator. A training step allocates the same tensor sizes every iteration; handing freed
// blocks back to the OS (glibc does that for blocks over its mmap threshold) and faulting them in again costs
// ~9 us per page here. So freed blocks are kept, per exact size, and reused by the next request of that size.
#include <cstddef>
#include <cstdint>

namespace lamina {

struct AllocatorStats {
  std::size_t allocated = 0;       // bytes handed out and not yet freed
  std::size_t reserved = 0;        // allocated + bytes cached for reuse
  std::size_t peak_allocated = 0;  // high-water mark of `allocated`
  std::uint64_t system_allocs = 0; // requests that had to go to the system (cache misses)
};

class CachingHostAllocator {
 public:
  static CachingHostAllocator& instance();

  void* allocate(std::size_t nbytes);
  void deallocate(void* ptr, std::size_t nbytes);
  // Returns every cached block to the system.
  void release_cached();
  AllocatorStats stats() const;
  // Above this many cached bytes, freed blocks go back to the system instead of the cache.
  void set_cache_limit(std::size_t bytes);

 private:
  CachingHostAllocator() = default;
};

// The block size a request of `nbytes` is served with (requests are rounded so that sizes repeat exactly).
std::size_t round_allocation(std::size_t nbytes);

}  // namespace lamina
