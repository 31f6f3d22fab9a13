#include <lamina/distributed/shared_memory_channel.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

namespace lamina::distributed {

// Zero-initialized by ftruncate, never constructed: every field is read and written through std::atomic_ref or
// after an acquire load of a counter that its owner released.
struct SharedMemoryChannel::RankBlock {
  // Each counter on a cache line of its own: peers poll one while the owner writes another.
  alignas(64) std::uint64_t signatures_posted;
  alignas(64) std::uint64_t arrived;
  alignas(64) std::uint64_t reduced;
  alignas(64) std::uint64_t released;
  alignas(64) std::int64_t signatures[2][Signature::kFields];
  alignas(4096) char slots[2][kChunkBytes];
};

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

std::unique_ptr<SharedMemoryChannel> SharedMemoryChannel::create(MPI_Comm comm) {
  int rank = 0, size = 1;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm, &size), "MPI_Comm_size");
  if (size < 2) return nullptr;
  MPI_Comm node;
  check_mpi(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
  int node_size = 0;
  MPI_Comm_size(node, &node_size);
  MPI_Comm_free(&node);
  // Either every rank shares the node with all the others, or none does.
  if (node_size != size) return nullptr;

  // Rank 0 creates the segment and tells the others its name ("" if it could not); every rank maps it.
  const std::size_t bytes = sizeof(RankBlock) * static_cast<std::size_t>(size);
  char name[64] = {};
  int fd = -1;
  if (rank == 0) {
    std::snprintf(name, sizeof name, "%s", segment_name().c_str());
    fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd >= 0 && ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
      close(fd);
      fd = -1;
      shm_unlink(name);
    }
    if (fd < 0) name[0] = '\0';
  }
  check_mpi(MPI_Bcast(name, sizeof name, MPI_CHAR, 0, comm), "MPI_Bcast");
  void* mapping = MAP_FAILED;
  if (name[0] != '\0') {
    if (rank != 0) fd = shm_open(name, O_RDWR, 0);
    if (fd >= 0) {
      mapping = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      close(fd);
    }
  }
  int mapped = mapping != MAP_FAILED, all_mapped = 0;
  check_mpi(MPI_Allreduce(&mapped, &all_mapped, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce");
  // Every rank has it open now (or gave up): the name can go, and the memory goes with the last mapping.
  if (rank == 0 && name[0] != '\0') shm_unlink(name);
  if (!all_mapped) {
    if (mapped) munmap(mapping, bytes);
    return nullptr;
  }
  return std::unique_ptr<SharedMemoryChannel>(new SharedMemoryChannel(mapping, bytes, rank, size));
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

void SharedMemoryChannel::allreduce(void* data, std::int64_t n, DType dtype, ReduceOp op,
                                    const Pacing& pacing) {
  const auto element = static_cast<std::int64_t>(dtype_size(dtype));
  const std::int64_t chunk = static_cast<std::int64_t>(kChunkBytes) / element;
  for (std::int64_t begin = 0; begin < n; begin += chunk)
    allreduce_chunk(static_cast<char*>(data) + begin * element, std::min(chunk, n - begin), dtype, op, pacing);
}

void SharedMemoryChannel::allreduce_chunk(char* data, std::int64_t n, DType dtype, ReduceOp op,
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
  store(me.arrived, step);

  // 2. Reduce this rank's segment with every peer's copy of it, in rank order.
  dispatch(dtype, [&]<typename T>() {
    std::vector<const T*> peers;
    for (int q = 0; q < size_; ++q) {
      if (q == rank_) continue;
      wait_until_at_least(block(q).arrived, step, pacing);
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
