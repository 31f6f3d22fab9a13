#pragma once
// SharedMemoryChannel: how the ranks of a group that all run on one node compare signatures and all-reduce,
// through one POSIX shared-memory segment that every rank maps, instead of through MPI.
//
// Each rank owns a block of the segment: four counters (each on a cache line of its own), its last two signatures,
// and two slots of kChunkBytes. Only the owner writes its block; the others read it once a counter says the data
// is there. A tensor is all-reduced one chunk at a time (a "step"), in three phases, each ending with a counter:
//   1. each rank copies the segments of the chunk that the other ranks reduce into its slot (`arrived`);
//   2. rank r reduces segment r: its own data, then every other rank's copy in rank order, and writes the result
//      to its own tensor and its slot (`reduced`);
//   3. each rank copies every other segment from the slot of the rank that reduced it (`released`).
// Every segment is reduced by one rank only, so all ranks end with the same bits. Steps alternate between the two
// slots, so a rank can start the next step while a slower peer still reads the last one.
//
// Against Open MPI's shared-memory transport this skips the message fragments, the copies through its FIFOs and
// the temporary buffer it allocates per call, and keeps each chunk in cache between the phases. Measured here at
// 2 ranks, each size repeated as a training loop repeats its all-reduce (benchmarks/README.md): 1.2-1.7x raw
// MPI_Allreduce from 64 KiB to 1 MiB, and 2.3-2.5x at 32-64 MiB, where Open MPI page-faults a fresh temporary
// on every call; from 2 MiB up to 32 MiB Open MPI's single-copy transfers (CMA) are as fast, and
// MpiProcessGroup leaves those sizes to MPI.

// Waiting: a rank that waits for a peer polls the peer's counter, calling a function between two polls that the
// caller's `Pacing` makes afresh for each wait (the group's pacing decides whether it spins or sleeps). A peer that
// never comes keeps it waiting: the caller's Work::wait() timeout is what turns that into an error, as for a stuck
// MPI call.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <mpi.h>

#include <lamina/core/dtype.h>
#include <lamina/distributed/process_group.h>
#include <lamina/distributed/signature.h>

namespace lamina::distributed {

class SharedMemoryChannel {
 public:
  // Makes the function that one wait calls between two polls.
  using Pacing = std::function<std::function<void()>()>;

  static constexpr std::size_t kChunkBytes = std::size_t{256} << 10;

  // Collective over `comm`. Returns null, on every rank alike, when the ranks of `comm` are not all on one node or
  // the segment cannot be created (no /dev/shm, say): the caller then uses MPI.
  static std::unique_ptr<SharedMemoryChannel> create(MPI_Comm comm);
  ~SharedMemoryChannel();
  SharedMemoryChannel(const SharedMemoryChannel&) = delete;
  SharedMemoryChannel& operator=(const SharedMemoryChannel&) = delete;

  // Posts this rank's signature, waits for every other rank's, and returns "" if they all match, or else a message
  // naming the ranks and what each called (the same message on every rank).
  std::string exchange_signatures(const Signature& mine, const Pacing& pacing);

  // In place, `n` elements of `dtype` at `data`; Average divides the sum by the number of ranks. Ranks that pass
  // different sizes get a CollectiveError naming both (the group compares signatures first unless told not to).
  void allreduce(void* data, std::int64_t n, DType dtype, ReduceOp op, const Pacing& pacing);

 private:
  struct RankBlock;
  SharedMemoryChannel(void* mapping, std::size_t mapping_bytes, int rank, int size);
  RankBlock& block(int rank) const;
  void allreduce_chunk(char* data, std::int64_t n, std::int64_t total, DType dtype, ReduceOp op, const Pacing& pacing);
  void check_extents(std::uint64_t step, const Pacing& pacing);

  void* mapping_;
  std::size_t mapping_bytes_;
  int rank_;
  int size_;
  std::uint64_t signatures_posted_ = 0;
  std::uint64_t steps_ = 0;
};

}  // namespace lamina::distributed
