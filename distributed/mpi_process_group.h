#pragma once
// MpiProcessGroup: the ProcessGroup collectives over MPI, for CPU tensors (float32, float64, int64).
//
// Asynchrony: each group owns a communication thread that runs the collectives, blocking MPI calls on the
// group's own duplicated communicator, one at a time from a FIFO queue, so they run in issue order on every rank
// and progress while the caller computes. (Measured against MPI_Iallreduce progressed by the caller: see
// benchmarks/README.md.) The calling thread only checks the arguments and enqueues.
//
// Signatures: with ProcessGroupOptions::check_signatures, the ranks first compare each collective's
// (sequence number, collective, bytes, dtype, root) with one 80-byte MPI_Allreduce; on a mismatch no data moves
// and every rank's Work fails with a CollectiveError naming the ranks and their signatures. The group stays usable.
//
// Timeouts: a collective that does not complete within ProcessGroupOptions::timeout fails in Work::wait() with a
// CollectiveError that names it and the ranks that never arrived in it, with their hosts ("... did not complete
// within 2000 ms; missing: rank 3 on node-b (...); waiting: ranks 0-2 on node-a"). To find them, every rank that
// times out tells the others, on a second communicator, which collective it is stuck in, and listens for their
// reports for min(timeout, 5 s); the ranks it does not hear from are the missing ones.
//
// Shared memory: when the group's two ranks share a node, signatures are compared, and all-reduces below
// kSharedMemoryBelowBytes or from kSharedMemoryFromBytes run, through a SharedMemoryChannel instead of MPI (see its
// header; ProcessGroupOptions::shared_memory turns it off). The channel also gives the group symmetric memory
// (allocate_symmetric), whose tensors it all-reduces in place at every size (2.1-6.3x raw MPI_Allreduce's speed
// from 64 KiB to 64 MiB here: benchmarks/README.md). Not for more ranks: their sums would be added in
// another order than MPI's, and a job must end with the same bits whether its ranks share a node or not.
//
// Otherwise, large tensors are reduced in pieces of kChunkBytes, and a piece of kRingMinBytes runs as a ring of
// point-to-point messages through a staging buffer the group keeps (ring_allreduce in the source). Open MPI's
// MPI_Allreduce allocates a temporary as large as the message on every call, and page-faults it in again on every
// call whenever glibc serves it with mmap: always from 32 MiB (a raw 32-64 MiB MPI_Allreduce ran at 2.3-2.6 GB/s
// here, against 4.2-5.6 for the chunked ring), and above the threshold when the process has fixed
// M_MMAP_THRESHOLD (then 8 MiB pieces through MPI_Allreduce ran at 3.6 GB/s, through the ring at 5.7). Below
// kRingMinBytes MPI_Allreduce is kept: with glibc's default (adaptive) threshold its temporary stays mapped, and
// one exchange of the whole message beats the ring's two half-size exchanges (0.92-0.98x raw MPI at 1-8 MiB
// through the group, against 0.65-0.76x with the ring).
#include <cstddef>
#include <cstdint>
#include <memory>

#include <mpi.h>

#include <lamina/distributed/process_group.h>

namespace lamina::distributed {

class MpiProcessGroup : public ProcessGroup {
 public:
  static constexpr std::size_t kChunkBytes = std::size_t{8} << 20;
  static constexpr std::size_t kRingMinBytes = kChunkBytes;
  // With a SharedMemoryChannel, all-reduces below kSharedMemoryBelowBytes and from kSharedMemoryFromBytes go
  // through it; in between they go to Open MPI. The channel was 1.04-1.19x raw MPI_Allreduce at 2-8 MiB, where
  // leaving those sizes to MPI gave 0.79-1.04x (seventh session, benchmarks/README.md); 16-32 MiB through the
  // channel is not measured.
  static constexpr std::size_t kSharedMemoryBelowBytes = std::size_t{16} << 20;
  static constexpr std::size_t kSharedMemoryFromBytes = std::size_t{32} << 20;

  // All ranks of `comm` (collective over it). The group duplicates `comm`, so its traffic never mixes with the
  // caller's. Initializes MPI when needed (see ensure_mpi_initialized).
  explicit MpiProcessGroup(ProcessGroupOptions options = {}, MPI_Comm comm = MPI_COMM_WORLD);
  // Runs what is still queued (waiting at most the timeout for it), then stops the thread. A group whose
  // collective timed out leaves its stuck thread behind rather than hang here.
  ~MpiProcessGroup() override;
  MpiProcessGroup(const MpiProcessGroup&) = delete;
  MpiProcessGroup& operator=(const MpiProcessGroup&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend_name() const override { return "mpi"; }
  const ProcessGroupOptions& options() const { return options_; }
  // Whether the group's two ranks share a node and talk through a SharedMemoryChannel.
  bool uses_shared_memory() const;
  // The sequence number the next collective will get (the first is 0).
  std::uint64_t next_sequence_number() const;

  std::shared_ptr<Work> allreduce(Tensor& tensor, ReduceOp op = ReduceOp::Sum) override;
  std::shared_ptr<Work> broadcast(Tensor& tensor, int root = 0) override;
  std::shared_ptr<Work> allgather(std::vector<Tensor>& outputs, const Tensor& input) override;
  std::shared_ptr<Work> reduce_scatter(Tensor& output, const Tensor& input, ReduceOp op = ReduceOp::Sum) override;
  std::shared_ptr<Work> barrier() override;
  // Symmetric memory for CPU tensors when the group has a SharedMemoryChannel (see its header).
  Tensor allocate_symmetric(std::int64_t numel, DType dtype, Device device) override;

  struct State;  // defined in the source: the communicator, the queue and its thread

 private:
  static bool through_shared_memory(std::int64_t bytes);

  ProcessGroupOptions options_;
  int rank_ = 0;
  int size_ = 1;
  std::shared_ptr<State> state_;  // shared with the communication thread
};

}  // namespace lamina::distributed
