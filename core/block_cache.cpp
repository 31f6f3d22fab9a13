#include <lamina/core/block_cache.h>

#include <cstdio>

namespace lamina {

std::string format_bytes(std::size_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.2f %s", value, units[unit]);
  return text;
}

BlockCache::BlockCache(System system, std::string device_name)
    : system_(std::move(system)), device_name_(std::move(device_name)) {}

BlockCache::~BlockCache() {
  for (auto& [base, first] : segments_) {
    system_.release(base);
    for (Block* b = first; b != nullptr;) {
      Block* next = b->next;
      delete b;
      b = next;
    }
  }
}

std::size_t BlockCache::round_size(std::size_t nbytes) {
  if (nbytes == 0) nbytes = 1;
  return (nbytes + kRound - 1) / kRound * kRound;
}

std::size_t BlockCache::segment_size(std::size_t rounded) {
  if (rounded <= kSmallRequest) return kSmallSegment;
  if (rounded < kLargeRequest) return kMediumSegment;
  return (rounded + kLargeRound - 1) / kLargeRound * kLargeRound;
}

BlockCache::Block* BlockCache::find_free(Pool& pool, std::size_t size, Stream stream) {
  Block key{nullptr, size, stream, false};
  auto it = pool.lower_bound(&key);
  if (it == pool.end() || (*it)->stream != stream) return nullptr;
  Block* b = *it;
  // A large request is not served from a much larger cached block (it would be split into a fragment that is
  // rarely reused); a fresh segment fits better.
  if (!b->small && size >= kLargeRequest && b->size >= size + kLargeRequest) return nullptr;
  pool.erase(it);
  return b;
}

BlockCache::Block* BlockCache::new_segment(std::size_t size, Stream stream, bool small) {
  void* p = system_.allocate(size);
  if (p == nullptr) {
    // Cached blocks of every stream may be what the device lacks: give them back and try once more.
    release_free_segments();
    p = system_.allocate(size);
    if (p == nullptr) return nullptr;
  }
  auto* b = new Block{static_cast<char*>(p), size, stream, small};
  segments_[b->ptr] = b;
  stats_.reserved += size;
  ++stats_.system_allocs;
  return b;
}

void* BlockCache::allocate(std::size_t nbytes, Stream stream) {
  const std::size_t size = round_size(nbytes);
  const bool small = size <= kSmallRequest;
  std::lock_guard lock(mutex_);
  Pool& pool = small ? small_pool_ : large_pool_;
  Block* b = find_free(pool, size, stream);
  if (b == nullptr) b = new_segment(segment_size(size), stream, small);
  if (b == nullptr) throw OutOfMemoryError(out_of_memory_message(nbytes, size));
  // Split off the rest when it can serve another request of this pool.
  const std::size_t rest = b->size - size;
  if (rest >= (small ? kRound : kSmallRequest + 1)) {
    auto* tail = new Block{b->ptr + size, rest, stream, small};
    tail->prev = b;
    tail->next = b->next;
    if (b->next) b->next->prev = tail;
    b->next = tail;
    b->size = size;
    pool.insert(tail);
  }
  b->allocated = true;
  allocated_[b->ptr] = b;
  stats_.allocated += b->size;
  if (stats_.allocated > stats_.peak_allocated) stats_.peak_allocated = stats_.allocated;
  return b->ptr;
}

void BlockCache::deallocate(void* ptr) {
  std::lock_guard lock(mutex_);
  auto it = allocated_.find(ptr);
  if (it == allocated_.end())
    throw std::invalid_argument(device_name_ + ": deallocate of a pointer this allocator did not hand out");
  Block* b = it->second;
  allocated_.erase(it);
  b->allocated = false;
  stats_.allocated -= b->size;
  Pool& pool = b->small ? small_pool_ : large_pool_;
  // Merge with free neighbours (they are in the same pool and stream: a segment belongs to one stream).
  if (Block* n = b->next; n != nullptr && !n->allocated) {
    pool.erase(n);
    b->size += n->size;
    b->next = n->next;
    if (n->next) n->next->prev = b;
    delete n;
  }
  if (Block* p = b->prev; p != nullptr && !p->allocated) {
    pool.erase(p);
    p->size += b->size;
    p->next = b->next;
    if (b->next) b->next->prev = p;
    delete b;
    b = p;
  }
  pool.insert(b);
}

void BlockCache::release_free_segments() {
  for (auto it = segments_.begin(); it != segments_.end();) {
    Block* b = it->second;
    if (b->allocated || b->next != nullptr) {
      ++it;
      continue;
    }
    (b->small ? small_pool_ : large_pool_).erase(b);
    stats_.reserved -= b->size;
    system_.release(b->ptr);
    delete b;
    it = segments_.erase(it);
  }
}

void BlockCache::release_cached() {
  std::lock_guard lock(mutex_);
  release_free_segments();
}

AllocatorStats BlockCache::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::string BlockCache::out_of_memory_message(std::size_t nbytes, std::size_t size) const {
  std::string message = device_name_ + " out of memory: tried to allocate " + format_bytes(nbytes) + " (a segment of " +
                        format_bytes(segment_size(size)) + "); lamina holds " + format_bytes(stats_.reserved) + " (" +
                        format_bytes(stats_.allocated) + " in tensors, " +
                        format_bytes(stats_.reserved - stats_.allocated) + " cached but not enough in one piece)";
  if (system_.describe) message += "; device: " + system_.describe();
  return message;
}

}  // namespace lamina
