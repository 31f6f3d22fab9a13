#include <lamina/core/allocator.h>

#include <sanitizer/asan_interface.h>

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace lamina {
namespace {

constexpr std::size_t kAlignment = 64;  // a cache line, and enough for AVX-512 loads

struct State {
  std::mutex mutex;
  std::unordered_map<std::size_t, std::vector<void*>> free_blocks;
  std::size_t cached = 0;
  std::size_t cache_limit = std::size_t{4} << 30;
  AllocatorStats stats;
};

State& state() {
  // Never destroyed: tensors held by static objects may be freed after main returns.
  static State* s = new State;
  return *s;
}

// Under AddressSanitizer (the macros do nothing otherwise) a cached block is poisoned, so that a use after free is
// still caught although the block never goes back to malloc; so is the rounding slack after the requested bytes.
void* hand_out(void* p, std::size_t nbytes, std::size_t size) {
  ASAN_UNPOISON_MEMORY_REGION(p, nbytes);
  ASAN_POISON_MEMORY_REGION(static_cast<char*>(p) + nbytes, size - nbytes);
  return p;
}

}  // namespace

std::size_t round_allocation(std::size_t nbytes) {
  if (nbytes == 0) nbytes = 1;
  if (nbytes <= 4096) return (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  return (nbytes + 4095) / 4096 * 4096;
}

CachingHostAllocator& CachingHostAllocator::instance() {
  static CachingHostAllocator allocator;
  return allocator;
}

void* CachingHostAllocator::allocate(std::size_t nbytes) {
  const std::size_t size = round_allocation(nbytes);
  State& s = state();
  {
    std::lock_guard lock(s.mutex);
    s.stats.allocated += size;
    if (s.stats.allocated > s.stats.peak_allocated) s.stats.peak_allocated = s.stats.allocated;
    auto it = s.free_blocks.find(size);
    if (it != s.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      s.cached -= size;
      return hand_out(p, nbytes, size);
    }
    ++s.stats.system_allocs;
    s.stats.reserved += size;
  }
  void* p = std::aligned_alloc(kAlignment, size);
  if (p == nullptr) {
    release_cached();
    p = std::aligned_alloc(kAlignment, size);
  }
  if (p == nullptr) {
    std::lock_guard lock(s.mutex);
    s.stats.allocated -= size;
    s.stats.reserved -= size;
    throw std::bad_alloc();
  }
  return hand_out(p, nbytes, size);
}

void CachingHostAllocator::deallocate(void* ptr, std::size_t nbytes) {
  if (ptr == nullptr) return;
  const std::size_t size = round_allocation(nbytes);
  State& s = state();
  {
    std::lock_guard lock(s.mutex);
    s.stats.allocated -= size;
    if (s.cached + size <= s.cache_limit) {
      ASAN_POISON_MEMORY_REGION(ptr, size);
      s.free_blocks[size].push_back(ptr);
      s.cached += size;
      return;
    }
    s.stats.reserved -= size;
  }
  std::free(ptr);
}

void CachingHostAllocator::release_cached() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  for (auto& [size, blocks] : s.free_blocks) {
    for (void* p : blocks) {
      ASAN_UNPOISON_MEMORY_REGION(p, size);
      std::free(p);
    }
    s.stats.reserved -= size * blocks.size();
  }
  s.free_blocks.clear();
  s.cached = 0;
}

AllocatorStats CachingHostAllocator::stats() const {
  State& s = state();
  std::lock_guard lock(s.mutex);
  return s.stats;
}

void CachingHostAllocator::set_cache_limit(std::size_t bytes) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.cache_limit = bytes;
}

}  // namespace lamina
