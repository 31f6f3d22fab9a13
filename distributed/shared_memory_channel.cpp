#include <lamina/distributed/shared_memory_channel.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
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
  // Per step, like the slots: the whole all-reduce's element count and element size, which the ranks compare so
  // that a group without signature checks still fails, rather than falls out of step, when they differ.
  std::int64_t extents[2][2];
  alignas(4096) char slots[2][kChunkBytes];
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

// out = combine(out, peer) for every peer but the last, in the given order; then with the last peer the result,
// divided by `divisor` when kDivide, goes to both out and published.
template <bool kDivide, typename T, typename Combine>
void reduce_segment(T* out, T* published, const std::vector<const T*>& peers, std::int64_t n, Combine combine,
                    T divisor) {
  for (std::size_t k = 0; k + 1 < peers.size(); ++k) {
    const T* peer = peers[k];
    for (std::int64_t i = 0; i < n; ++i) out[i] = combine(out[i], peer[i]);
  }
  const T* last = peers.back();
  for (std::int64_t i = 0; i < n; ++i) {
    T v = combine(out[i], last[i]);
    if constexpr (kDivide) v /= divisor;
    out[i] = v;
    published[i] = v;
  }
}

template <typename T>
void reduce_segment(T* out, T* published, const std::vector<const T*>& peers, std::int64_t n, ReduceOp op, int size) {
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

}  // namespace

// What create() holds until the channel owns the mapping: on any way out, an MPI error thrown halfway included, the
// descriptor is closed, rank 0 removes the name, and a mapping never handed over is unmapped.
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

  // Rank 0 creates the segment and tells the others its name ("" if it could not); every rank maps it.
  SegmentUnderConstruction segment;
  segment.bytes = sizeof(RankBlock) * static_cast<std::size_t>(size);
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
  // Every rank has mapped it or given up: the name goes with `segment`, the memory with the last mapping.
  if (!all_mapped) return nullptr;
  return std::unique_ptr<SharedMemoryChannel>(new SharedMemoryChannel(segment.hand_over(), segment.bytes, rank, size));
}

SharedMemoryChannel::SharedMemoryChannel(void* mapping, std::size_t mapping_bytes, int rank, int size)
    : mapping_(mapping), mapping_bytes_(mapping_bytes), rank_(rank), size_(size) {}

SharedMemoryChannel::~SharedMemoryChannel() { munmap(mapping_, mapping_bytes_); }

SharedMemoryChannel::RankBlock& SharedMemoryChannel::block(int rank) const {
  return static_cast<RankBlock*>(mapping_)[rank];
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

void SharedMemoryChannel::check_extents(std::uint64_t step, const Pacing& pacing) {
  const std::size_t slot = step % 2;
  RankBlock& me = block(rank_);
  for (int q = 0; q < size_; ++q) {
    if (q == rank_) continue;
    RankBlock& peer = block(q);
    wait_until_at_least(peer.arrived, step, pacing);
    if (peer.extents[slot][0] == me.extents[slot][0] && peer.extents[slot][1] == me.extents[slot][1]) continue;
    // Every rank sees a difference and skips the step alike, so the next collective starts in step.
    store(me.reduced, step);
    store(me.released, step);
    throw CollectiveError("SharedMemoryChannel: rank " + std::to_string(rank_) + " all-reduces " +
                          std::to_string(me.extents[slot][0]) + " elements of " + std::to_string(me.extents[slot][1]) +
                          " bytes, rank " + std::to_string(q) + " " + std::to_string(peer.extents[slot][0]) +
                          " elements of " + std::to_string(peer.extents[slot][1]) + " bytes. No data was exchanged");
  }
}

void SharedMemoryChannel::allreduce(void* data, std::int64_t n, DType dtype, ReduceOp op,
                                    const Pacing& pacing) {
  const auto element = static_cast<std::int64_t>(dtype_size(dtype));
  const std::int64_t chunk = static_cast<std::int64_t>(kChunkBytes) / element;
  for (std::int64_t begin = 0; begin < n; begin += chunk)
    allreduce_chunk(static_cast<char*>(data) + begin * element, std::min(chunk, n - begin), n, dtype, op, pacing);
}

void SharedMemoryChannel::allreduce_chunk(char* data, std::int64_t n, std::int64_t total, DType dtype, ReduceOp op,
                                          const Pacing& pacing) {
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
  me.extents[slot][0] = total;
  me.extents[slot][1] = element;
  store(me.arrived, step);
  check_extents(step, pacing);  // waits for every peer's copies

  // 2. Reduce this rank's segment: its own data, then every peer's copy of it, in rank order.
  dispatch(dtype, [&]<typename T>() {
    std::vector<const T*> peers;
    for (int q = 0; q < size_; ++q) {
      if (q == rank_) continue;
      peers.push_back(reinterpret_cast<const T*>(block(q).slots[slot]) + first(rank_));
    }
    reduce_segment<T>(reinterpret_cast<T*>(data) + first(rank_), reinterpret_cast<T*>(me.slots[slot]) + first(rank_),
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
