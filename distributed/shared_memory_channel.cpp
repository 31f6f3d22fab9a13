#include <lamina/distributed/shared_memory_channel.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace lamina::distributed {

// The zero-filled bytes of the mapping, used as this struct without constructing one (C++23 would say
// std::start_lifetime_as): every field is read and written through std::atomic_ref or after an acquire load of a
// counter that its owner released.
struct SharedMemoryChannel::RankBlock {
  // Each counter on a cache line of its own: peers poll one while the owner writes another.
  alignas(64) std::uint64_t signatures_posted;
  alignas(64) std::uint64_t arrived;
  alignas(64) std::uint64_t reduced;
  alignas(64) std::uint64_t released;
  alignas(64) std::int64_t signatures[2][Signature::kFields];
  // Per header step, alternating like the slots: the all-reduce's element count and element size, which the ranks
  // compare so that a group without signature checks still fails, rather than falls out of step, when they
  // differ; and its Placement (segment, offset).
  std::int64_t headers[2][4];
  alignas(4096) char slots[2][kChunkBytes];
};

// One mapping of a symmetric segment: rank r's copy starts at base + r · stride. It is unmapped with the last tensor
// that holds it; the memory goes with the last mapping on the node.
struct SharedMemoryChannel::SymmetricSegment {
  char* base;
  std::size_t bytes;
  std::size_t stride;
  ~SymmetricSegment() { munmap(base, bytes); }
};

// A lock-based atomic_ref would lock within one process only.
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free);

namespace {

std::uint64_t load(std::uint64_t& counter) { return std::atomic_ref(counter).load(std::memory_order_acquire); }
void store(std::uint64_t& counter, std::uint64_t value) { std::atomic_ref(counter).store(value, std::memory_order_release); }

void wait_until_at_least(std::uint64_t& counter, std::uint64_t value, const SharedMemoryChannel::Pacing& pacing) {
  if (load(counter) >= value) return;
  const std::function<void()> between_polls = pacing();
  while (load(counter) < value) between_polls();
}

// out = combine(out, peer) for every peer, in the given order, divided by `divisor` when kDivide; the result also
// goes to every `published`. Block by block, so that each block is copied out while it is in cache, and a peer's
// data may be among the published: each block of it is read before it is overwritten.
template <bool kDivide, typename T, typename Combine>
void reduce_segment(T* out, const std::vector<T*>& published, const std::vector<const T*>& peers, std::int64_t n,
                    Combine combine, T divisor) {
  constexpr std::int64_t kBlock = 16384 / sizeof(T);
  for (std::int64_t begin = 0; begin < n; begin += kBlock) {
    T* o = out + begin;
    const std::int64_t m = std::min(kBlock, n - begin);
    for (std::size_t k = 0; k + 1 < peers.size(); ++k) {
      const T* peer = peers[k] + begin;
      for (std::int64_t i = 0; i < m; ++i) o[i] = combine(o[i], peer[i]);
    }
    const T* last = peers.back() + begin;
    for (std::int64_t i = 0; i < m; ++i) {
      T v = combine(o[i], last[i]);
      if constexpr (kDivide) v /= divisor;
      o[i] = v;
    }
    for (T* p : published) std::memcpy(p + begin, o, static_cast<std::size_t>(m) * sizeof(T));
  }
}

template <typename T>
void reduce_segment(T* out, const std::vector<T*>& published, const std::vector<const T*>& peers, std::int64_t n,
                    ReduceOp op, int size) {
  const auto sum = [](T a, T b) { return a + b; };
  const auto max = [](T a, T b) { return std::max(a, b); };
  const T divisor = static_cast<T>(size);
  if (op == ReduceOp::Max) reduce_segment<false>(out, published, peers, n, max, divisor);
  else if (op == ReduceOp::Average) reduce_segment<true>(out, published, peers, n, sum, divisor);
  else reduce_segment<false>(out, published, peers, n, sum, divisor);
}

// A name no other job or group on the node uses.
std::string segment_name() {
  static std::atomic<unsigned> groups{0};
  const auto ticks = std::chrono::steady_clock::now().time_since_epoch().count();
  char name[64];
  std::snprintf(name, sizeof name, "/lamina-%d-%u-%llx", static_cast<int>(getpid()), groups++,
                static_cast<unsigned long long>(ticks));
  return name;
}

// What map_shared_segment() holds until its caller owns the mapping: on any way out, an MPI error thrown halfway
// included, the descriptor is closed, rank 0 removes the name, and a mapping never handed over is unmapped.
struct SegmentUnderConstruction {
  std::size_t bytes = 0;
  int fd = -1;
  std::string name;  // rank 0, once it created the segment
  void* mapping = MAP_FAILED;

  ~SegmentUnderConstruction() {
    if (fd >= 0) close(fd);
    if (!name.empty()) shm_unlink(name.c_str());
    if (mapping != MAP_FAILED) munmap(mapping, bytes);
  }
  void* hand_over() { return std::exchange(mapping, MAP_FAILED); }
};

// Collective over `comm`: rank 0 creates a segment of `bytes` and tells the others its name; every rank maps it.
// Returns the mapping, or null on every rank alike when any rank could not map it. The name is removed before this
// returns; the memory lives as long as the last mapping.
void* map_shared_segment(MPI_Comm comm, int rank, std::size_t bytes) {
  SegmentUnderConstruction segment;
  segment.bytes = bytes;
  char name[64] = {};
  if (rank == 0) {
    std::snprintf(name, sizeof name, "%s", segment_name().c_str());
    segment.fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (segment.fd >= 0) segment.name = name;
    // posix_fallocate reserves the memory now: after a mere ftruncate a full /dev/shm would show up as SIGBUS at
    // the first touch, mid-training.
    if (segment.fd < 0 || posix_fallocate(segment.fd, 0, static_cast<off_t>(segment.bytes)) != 0) name[0] = '\0';
  }
  check_mpi(MPI_Bcast(name, sizeof name, MPI_CHAR, 0, comm), "MPI_Bcast");
  if (name[0] != '\0') {
    if (rank != 0) segment.fd = shm_open(name, O_RDWR, 0);
    if (segment.fd >= 0) segment.mapping = mmap(nullptr, segment.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, segment.fd, 0);
  }
  int mapped = segment.mapping != MAP_FAILED, all_mapped = 0;
  check_mpi(MPI_Allreduce(&mapped, &all_mapped, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce");
  // Every rank has mapped it or given up: the name goes with `segment`, and the mapping too unless all have it.
  return all_mapped ? segment.hand_over() : nullptr;
}

}  // namespace

std::unique_ptr<SharedMemoryChannel> SharedMemoryChannel::create(MPI_Comm comm) {
  int rank = 0, size = 1;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm, &size), "MPI_Comm_size");
  if (size < 2) return nullptr;
  MPI_Comm node;
  check_mpi(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
  int node_size = 0;
  const int rc = MPI_Comm_size(node, &node_size);
  MPI_Comm_free(&node);
  check_mpi(rc, "MPI_Comm_size");
  // Either every rank shares the node with all the others, or none does.
  if (node_size != size) return nullptr;
  const std::size_t bytes = sizeof(RankBlock) * static_cast<std::size_t>(size);
  void* mapping = map_shared_segment(comm, rank, bytes);
  if (!mapping) return nullptr;
  return std::unique_ptr<SharedMemoryChannel>(new SharedMemoryChannel(comm, mapping, bytes, rank, size));
}

SharedMemoryChannel::SharedMemoryChannel(MPI_Comm comm, void* mapping, std::size_t mapping_bytes, int rank, int size)
    : comm_(comm), mapping_(mapping), mapping_bytes_(mapping_bytes), rank_(rank), size_(size) {}

SharedMemoryChannel::~SharedMemoryChannel() { munmap(mapping_, mapping_bytes_); }

SharedMemoryChannel::RankBlock& SharedMemoryChannel::block(int rank) const {
  return static_cast<RankBlock*>(mapping_)[rank];
}

Tensor SharedMemoryChannel::allocate_symmetric(std::int64_t numel, DType dtype) {
  // Ids count every call, so they stay the same on every rank even when a segment cannot be made.
  segments_.emplace_back();
  // Every rank must lay the segment out alike, so the ranks compare sizes first (the group compares signatures too,
  // unless told not to). -1 stands for a negative size, kLargestSymmetricBytes for one too large to make.
  const std::int64_t element = static_cast<std::int64_t>(dtype_size(dtype));
  const std::int64_t asked = numel < 0                                  ? -1
                             : numel >= kLargestSymmetricBytes / element ? kLargestSymmetricBytes
                                                                        : numel * element;
  std::int64_t extremes[2] = {asked, -asked};  // after the MAX: the largest size and, negated, the smallest
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, extremes, 2, MPI_INT64_T, MPI_MAX, comm_), "MPI_Allreduce");
  const std::string what = "SharedMemoryChannel::allocate_symmetric on rank " + std::to_string(rank_) + " (" +
                           std::to_string(numel) + " elements of " + dtype_name(dtype) + ")";
  if (extremes[0] != -extremes[1])
    throw CollectiveError(what + ": the ranks asked for different sizes, from " + std::to_string(-extremes[1]) +
                          " to " + std::to_string(extremes[0]) + " bytes. Nothing was allocated");
  if (asked < 0) throw std::invalid_argument(what + ": negative size");
  if (asked == kLargestSymmetricBytes) return {};
  // Each copy on pages of its own.
  constexpr std::size_t kPage = 4096;
  const std::size_t bytes = static_cast<std::size_t>(asked);
  const std::size_t stride = std::max(kPage, (bytes + kPage - 1) / kPage * kPage);
  const std::size_t total = stride * static_cast<std::size_t>(size_);
  void* mapping = map_shared_segment(comm_, rank_, total);
  if (!mapping) return {};
  auto segment = std::make_shared<SymmetricSegment>(static_cast<char*>(mapping), total, stride);
  segments_.back() = segment;
  return from_blob(segment, segment->base + static_cast<std::size_t>(rank_) * stride, {numel}, dtype);
}

SharedMemoryChannel::Placement SharedMemoryChannel::placement_of(const void* data, std::size_t bytes) {
  const auto address = reinterpret_cast<std::uintptr_t>(data);
  for (std::size_t id = 0; id < segments_.size(); ++id) {
    const std::shared_ptr<SymmetricSegment> segment = segments_[id].lock();
    if (!segment) continue;
    const auto mine = reinterpret_cast<std::uintptr_t>(segment->base) + rank_ * segment->stride;
    if (address >= mine && address + bytes <= mine + segment->stride)
      return {static_cast<std::int64_t>(id), static_cast<std::int64_t>(address - mine)};
  }
  return {};
}

std::string SharedMemoryChannel::exchange_signatures(const Signature& mine, const Pacing& pacing) {
  // A rank posts signature s+2 into the place of s only after every peer posted s+1, that is, after every peer
  // read signature s: two places are enough.
  const std::uint64_t s = signatures_posted_++;
  RankBlock& me = block(rank_);
  const auto fields = mine.fields();
  std::copy(fields.begin(), fields.end(), me.signatures[s % 2]);
  store(me.signatures_posted, s + 1);
  bool same = true;
  for (int r = 0; r < size_; ++r) {
    if (r == rank_) continue;
    RankBlock& peer = block(r);
    wait_until_at_least(peer.signatures_posted, s + 1, pacing);
    same = same && Signature::from_fields(peer.signatures[s % 2]) == mine;
  }
  if (same) return "";
  std::vector<Signature> signatures;
  for (int r = 0; r < size_; ++r) signatures.push_back(Signature::from_fields(block(r).signatures[s % 2]));
  return describe_mismatch(signatures);
}

bool SharedMemoryChannel::begin_allreduce(std::int64_t n, std::int64_t element, Placement placement,
                                          const Pacing& pacing) {
  const std::uint64_t step = ++steps_;
  const std::size_t slot = step % 2;
  RankBlock& me = block(rank_);
  // This header was last written two or more steps ago: once every peer is done with that step, post this one.
  for (int q = 0; q < size_; ++q)
    if (q != rank_) wait_until_at_least(block(q).released, step < 2 ? 0 : step - 2, pacing);
  me.headers[slot][0] = n;
  me.headers[slot][1] = element;
  me.headers[slot][2] = placement.segment;
  me.headers[slot][3] = placement.offset;
  store(me.arrived, step);
  bool in_place = placement.segment >= 0;
  for (int q = 0; q < size_; ++q) {
    if (q == rank_) continue;
    RankBlock& peer = block(q);
    wait_until_at_least(peer.arrived, step, pacing);
    const std::int64_t* theirs = peer.headers[slot];
    if (theirs[0] != n || theirs[1] != element) {
      // Every rank sees a difference and ends the step alike, so the next collective starts in step.
      store(me.reduced, step);
      store(me.released, step);
      throw CollectiveError("SharedMemoryChannel: rank " + std::to_string(rank_) + " all-reduces " + std::to_string(n) +
                            " elements of " + std::to_string(element) + " bytes, rank " + std::to_string(q) + " " +
                            std::to_string(theirs[0]) + " elements of " + std::to_string(theirs[1]) +
                            " bytes. No data was exchanged");
    }
    in_place = in_place && Placement{theirs[2], theirs[3]} == placement;
  }
  if (!in_place) {
    store(me.reduced, step);
    store(me.released, step);
  }
  return in_place;
}

void SharedMemoryChannel::reduce_in_place(Placement placement, std::int64_t n, DType dtype, ReduceOp op,
                                          const Pacing& pacing) {
  const std::uint64_t step = steps_;  // begin_allreduce's
  // Alive: the caller's tensor holds it (each peer's tensor holds the peer's own mapping).
  const std::shared_ptr<SymmetricSegment> segment = segments_[static_cast<std::size_t>(placement.segment)].lock();
  const std::int64_t first = n * rank_ / size_, count = n * (rank_ + 1) / size_ - first;
  dispatch(dtype, [&]<typename T>() {
    const auto copy = [&](int q) {
      return reinterpret_cast<T*>(segment->base + static_cast<std::size_t>(q) * segment->stride + placement.offset) + first;
    };
    std::vector<const T*> peers;
    std::vector<T*> published;
    for (int q = 0; q < size_; ++q) {
      if (q == rank_) continue;
      peers.push_back(copy(q));
      published.push_back(copy(q));
    }
    reduce_segment<T>(copy(rank_), published, peers, count, op, size_);
  });
  RankBlock& me = block(rank_);
  store(me.reduced, step);
  // Until every peer has written its segment into this rank's copy.
  for (int q = 0; q < size_; ++q)
    if (q != rank_) wait_until_at_least(block(q).reduced, step, pacing);
  store(me.released, step);
}

bool SharedMemoryChannel::allreduce_in_place(void* data, std::int64_t n, DType dtype, ReduceOp op,
                                            const Pacing& pacing) {
  const auto element = static_cast<std::int64_t>(dtype_size(dtype));
  const Placement placement = placement_of(data, static_cast<std::size_t>(n * element));
  if (!begin_allreduce(n, element, placement, pacing)) return false;
  reduce_in_place(placement, n, dtype, op, pacing);
  return true;
}

void SharedMemoryChannel::allreduce(void* data, std::int64_t n, DType dtype, ReduceOp op,
                                    const Pacing& pacing) {
  if (allreduce_in_place(data, n, dtype, op, pacing)) return;
  const auto element = static_cast<std::int64_t>(dtype_size(dtype));
  const std::int64_t chunk = static_cast<std::int64_t>(kChunkBytes) / element;
  for (std::int64_t begin = 0; begin < n; begin += chunk)
    allreduce_chunk(static_cast<char*>(data) + begin * element, std::min(chunk, n - begin), dtype, op, pacing);
}

void SharedMemoryChannel::allreduce_chunk(char* data, std::int64_t n, DType dtype, ReduceOp op, const Pacing& pacing) {
  const std::uint64_t step = ++steps_;
  const std::size_t slot = step % 2;
  const auto element = static_cast<std::int64_t>(dtype_size(dtype));
  // Segment q of the chunk: elements [first(q), first(q + 1)).
  const auto first = [&](int q) { return n * q / size_; };
  const auto bytes = [&](int q) { return static_cast<std::size_t>((first(q + 1) - first(q)) * element); };
  RankBlock& me = block(rank_);

  // 1. This slot was last used two steps ago: once every peer is done with it, fill it with the segments they reduce.
  for (int q = 0; q < size_; ++q) {
    if (q == rank_) continue;
    wait_until_at_least(block(q).released, step < 2 ? 0 : step - 2, pacing);
  }
  for (int q = 0; q < size_; ++q)
    if (q != rank_) std::memcpy(me.slots[slot] + first(q) * element, data + first(q) * element, bytes(q));
  store(me.arrived, step);
  for (int q = 0; q < size_; ++q)
    if (q != rank_) wait_until_at_least(block(q).arrived, step, pacing);

  // 2. Reduce this rank's segment: its own data, then every peer's copy of it, in rank order.
  dispatch(dtype, [&]<typename T>() {
    std::vector<const T*> peers;
    for (int q = 0; q < size_; ++q) {
      if (q == rank_) continue;
      peers.push_back(reinterpret_cast<const T*>(block(q).slots[slot]) + first(rank_));
    }
    reduce_segment<T>(reinterpret_cast<T*>(data) + first(rank_), {reinterpret_cast<T*>(me.slots[slot]) + first(rank_)},
                      peers, first(rank_ + 1) - first(rank_), op, size_);
  });
  store(me.reduced, step);

  // 3. Take every other segment from the rank that reduced it.
  for (int q = 0; q < size_; ++q) {
    if (q == rank_) continue;
    RankBlock& owner = block(q);
    wait_until_at_least(owner.reduced, step, pacing);
    std::memcpy(data + first(q) * element, owner.slots[slot] + first(q) * element, bytes(q));
  }
  store(me.released, step);
}

}  // namespace lamina::distributed
