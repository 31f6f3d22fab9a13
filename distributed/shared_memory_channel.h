#pragma once
// SharedMemoryChannel: how the ranks of a group that all run on one node compare signatures and all-reduce,
// through one POSIX shared-memory segment that every rank maps, instead of through MPI.
//
// Each rank owns a block of the segment: four counters (each on a cache line of its own), its last two signatures,
// its last two all-reduce headers, and two slots of kChunkBytes. Only the owner writes its block; the others read it once a counter says the data
// is there. Every all-reduce begins with a header step: each rank posts the element count and size (compared, so
// that ranks passing different sizes fail rather than fall out of step) and where its data lies (below).
//
// Symmetric tensors: allocate_symmetric() places one copy of a tensor per rank in one more segment that every rank
// maps, so every rank can reach every rank's copy. When all ranks pass their copy of the same symmetric tensor, the
// all-reduce runs in place, in one step: rank r reduces segment r of all copies (its own first, then the others in
// rank order, as in the slots) and writes the result into all of them. Nothing goes through the slots. Measured through MpiProcessGroup at 2 ranks
// (benchmarks/README.md, run N): 24 µs at 512 KiB and 45 µs at 1 MiB, against 74 and 149 µs through the slots.
//
// Otherwise a tensor is all-reduced one chunk at a time (a "step"), in three phases, each ending with a counter:
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
// MPI_Allreduce from 64 KiB to 1 MiB, 1.04-1.19x at 2-8 MiB, and 2.3-2.5x at 32-64 MiB, where Open MPI
// page-faults a fresh temporary on every call. MpiProcessGroup leaves 16-32 MiB to MPI.

// Waiting: a rank that waits for a peer polls the peer's counter, calling a function between two polls that the
// caller's `Pacing` makes afresh for each wait (the group's pacing decides whether it spins or sleeps). A peer that
// never comes keeps it waiting: the caller's Work::wait() timeout is what turns that into an error, as for a stuck
// MPI call.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <mpi.h>

#include <lamina/core/dtype.h>
#include <lamina/core/tensor.h>
#include <lamina/distributed/process_group.h>
#include <lamina/distributed/signature.h>

namespace lamina::distributed {

class SharedMemoryChannel {
 public:
  // Makes the function that one wait calls between two polls.
  using Pacing = std::function<std::function<void()>()>;

  static constexpr std::size_t kChunkBytes = std::size_t{256} << 10;
  // Larger symmetric tensors are never made (allocate_symmetric returns an undefined tensor), so that no size
  // computation overflows.
  static constexpr std::int64_t kLargestSymmetricBytes = std::int64_t{1} << 56;

  // Collective over `comm`. Returns null, on every rank alike, when the ranks of `comm` are not all on one node or
  // the segment cannot be created (no /dev/shm, say): the caller then uses MPI.
  static std::unique_ptr<SharedMemoryChannel> create(MPI_Comm comm);
  ~SharedMemoryChannel();
  SharedMemoryChannel(const SharedMemoryChannel&) = delete;
  SharedMemoryChannel& operator=(const SharedMemoryChannel&) = delete;

  // Posts this rank's signature, waits for every other rank's, and returns "" if they all match, or else a message
  // naming the ranks and what each called (the same message on every rank).
  std::string exchange_signatures(const Signature& mine, const Pacing& pacing);

  // Collective over the channel's communicator, in the same order on every rank: a zero-filled 1-D tensor of
  // `numel` elements, this rank's copy of a symmetric tensor (see above). An undefined tensor, on every rank alike,
  // when the segment cannot be created. Ranks that ask for different sizes get a CollectiveError naming both.
  Tensor allocate_symmetric(std::int64_t numel, DType dtype);

  // In place, `n` elements of `dtype` at `data`; Average divides the sum by the number of ranks. Ranks that pass
  // different sizes get a CollectiveError naming both (the group compares signatures first unless told not to).
  // In place when every rank passes its copy of the same symmetric tensor, otherwise through the slots.
  void allreduce(void* data, std::int64_t n, DType dtype, ReduceOp op, const Pacing& pacing);
  // The same when every rank passes its copy of the same symmetric tensor, and then true. Otherwise false, on every
  // rank alike, with nothing exchanged but the sizes: the caller all-reduces some other way (MPI).
  bool allreduce_in_place(void* data, std::int64_t n, DType dtype, ReduceOp op, const Pacing& pacing);

 private:
  struct RankBlock;
  struct SymmetricSegment;
  // Where an all-reduce's data lies: at byte `offset` of this rank's copy in symmetric segment `segment`, or
  // outside every one (segment -1).
  struct Placement {
    std::int64_t segment = -1;
    std::int64_t offset = 0;
    bool operator==(const Placement&) const = default;
  };

  SharedMemoryChannel(MPI_Comm comm, void* mapping, std::size_t mapping_bytes, int rank, int size);
  RankBlock& block(int rank) const;
  Placement placement_of(const void* data, std::size_t bytes);
  bool begin_allreduce(std::int64_t n, std::int64_t element, Placement placement, const Pacing& pacing);
  void reduce_in_place(Placement placement, std::int64_t n, DType dtype, ReduceOp op, const Pacing& pacing);
  void allreduce_chunk(char* data, std::int64_t n, DType dtype, ReduceOp op, const Pacing& pacing);

  MPI_Comm comm_;  // the owner's: used by allocate_symmetric only
  void* mapping_;
  std::size_t mapping_bytes_;
  int rank_;
  int size_;
  std::uint64_t signatures_posted_ = 0;
  std::uint64_t steps_ = 0;
  // The symmetric segments made so far, by id; an expired one has been unmapped by every tensor it held.
  std::vector<std::weak_ptr<SymmetricSegment>> segments_;
};

}  // namespace lamina::distributed
