#pragma once
// The bookkeeping of a caching device allocator, free of any GPU call so that it is tested on the CPU: the CUDA
// allocator (core/cuda/cuda_allocator.cu) gives it cudaMalloc/cudaFree, the tests a fake.
//
// cudaMalloc and cudaFree synchronize the device and cost tens of microseconds, so memory is taken from the system
// in segments and kept: a request is served by the best-fitting free block of its stream's pool, split when the
// rest is worth keeping; a freed block goes back to that pool and merges with free neighbours of its segment.
// Pools are per stream because a freed block may still be read by kernels queued on its stream: handing it to
// another stream's work could overwrite it early, while work on the same stream runs in order.
// Small requests (up to 1 MiB) are carved out of 2 MiB segments and never share a segment with large ones, so that
// long-lived small tensors do not pin down large blocks.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include <lamina/core/allocator.h>

namespace lamina {

// Thrown when a request cannot be served even after the cached blocks were returned to the system.
struct OutOfMemoryError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class BlockCache {
 public:
  // What the cache allocates from: `allocate` returns nullptr when the device is out of memory; `free_memory`
  // (optional) describes the device's own view for the out-of-memory message, e.g. "79.1 GiB of 80 GiB in use".
  struct System {
    std::function<void*(std::size_t)> allocate;
    std::function<void(void*)> release;
    std::function<std::string()> describe;
  };
  using Stream = const void*;  // a cudaStream_t; nullptr is the legacy default stream

  static constexpr std::size_t kRound = 512;                        // every block is a multiple of this
  static constexpr std::size_t kSmallRequest = std::size_t{1} << 20;  // up to this: the small pool
  static constexpr std::size_t kSmallSegment = std::size_t{2} << 20;
  static constexpr std::size_t kMediumSegment = std::size_t{20} << 20;  // for requests of 1 to 10 MiB
  static constexpr std::size_t kLargeRequest = std::size_t{10} << 20;
  static constexpr std::size_t kLargeRound = std::size_t{2} << 20;  // larger requests get a segment of their own

  BlockCache(System system, std::string device_name);
  ~BlockCache();  // returns every segment; blocks still allocated then are the caller's leak
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // A block of at least `nbytes` for work on `stream`; throws OutOfMemoryError naming the request and what is held.
  void* allocate(std::size_t nbytes, Stream stream);
  // Returns a block from allocate() to its stream's pool; an unknown pointer is a std::invalid_argument.
  void deallocate(void* ptr);
  // Returns every wholly free segment to the system.
  void release_cached();
  AllocatorStats stats() const;
  // The size a request is served with, and the segment a cache miss takes from the system for it.
  static std::size_t round_size(std::size_t nbytes);
  static std::size_t segment_size(std::size_t rounded);

 private:
  struct Block {
    char* ptr;
    std::size_t size;
    Stream stream;
    bool small;  // from a small segment
    bool allocated = false;
    Block* prev = nullptr;  // neighbours inside the same segment
    Block* next = nullptr;
  };
  struct BySizeThenAddress {
    bool operator()(const Block* a, const Block* b) const {
      if (a->stream != b->stream) return std::less<Stream>()(a->stream, b->stream);
      if (a->size != b->size) return a->size < b->size;
      return std::less<char*>()(a->ptr, b->ptr);
    }
  };
  using Pool = std::set<Block*, BySizeThenAddress>;

  Block* find_free(Pool& pool, std::size_t size, Stream stream);
  Block* new_segment(std::size_t size, Stream stream, bool small);
  void release_free_segments();
  std::string out_of_memory_message(std::size_t nbytes, std::size_t size) const;

  System system_;
  std::string device_name_;
  mutable std::mutex mutex_;
  Pool small_pool_, large_pool_;
  std::unordered_map<void*, Block*> allocated_;
  std::map<char*, Block*> segments_;  // the first block of every segment
  AllocatorStats stats_;
};

// "1.50 GiB", "512 bytes": sizes in messages.
std::string format_bytes(std::size_t bytes);

}  // namespace lamina
