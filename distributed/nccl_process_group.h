#pragma once
// NcclProcessGroup: the ProcessGroup collectives over NCCL, for CUDA tensors on this rank's device. Built only when
// lamina is built with CUDA and NCCL, as the library lamina::nccl; this header names no CUDA or NCCL type, so CPU code can
// include it.
//
// Set-up (collective over the MPI communicator): each rank picks device local_rank % device count, rank 0 creates
// the ncclUniqueId and broadcasts it over MPI. A rank that cannot get a device or an id makes every rank throw,
// rather than leave its peers waiting in NCCL's initialisation.
//
// Ordering: every collective runs on the group's own CUDA stream, after an event recorded on the compute stream
// (the legacy default stream unless set_compute_stream says otherwise), so it sees all work queued before the call.
// Work::wait() blocks the host until the collective has finished (or the timeout passes: then the NCCL
// communicator is aborted and wait() throws CollectiveError); the group keeps the tensors of every collective in
// flight alive until it completes.
//
// Signatures are compared on the host over MPI when the collective is issued (ProcessGroupOptions::check_signatures),
// so a mismatch is caught before NCCL is handed two different calls.
#include <memory>

#include <mpi.h>

#include <lamina/distributed/process_group.h>

namespace lamina::distributed {

class NcclProcessGroup : public ProcessGroup {
 public:
  // `device` < 0 selects environment().local_rank modulo the number of devices.
  explicit NcclProcessGroup(ProcessGroupOptions options = {}, MPI_Comm comm = MPI_COMM_WORLD, int device = -1);
  ~NcclProcessGroup() override;
  NcclProcessGroup(const NcclProcessGroup&) = delete;
  NcclProcessGroup& operator=(const NcclProcessGroup&) = delete;

  int rank() const override;
  int size() const override;
  std::string backend_name() const override { return "nccl"; }
  int device() const;
  // Collectives issued from now on wait for the work queued on `stream` (a cudaStream_t; nullptr is the legacy
  // default stream).
  void set_compute_stream(void* stream);

  std::shared_ptr<Work> allreduce(Tensor& tensor, ReduceOp op = ReduceOp::Sum) override;
  std::shared_ptr<Work> broadcast(Tensor& tensor, int root = 0) override;
  std::shared_ptr<Work> allgather(std::vector<Tensor>& outputs, const Tensor& input) override;
  std::shared_ptr<Work> reduce_scatter(Tensor& output, const Tensor& input, ReduceOp op = ReduceOp::Sum) override;
  std::shared_ptr<Work> barrier() override;

  struct State;  // defined in the source: CUDA and NCCL handles

 private:
  std::shared_ptr<State> state_;
};

}  // namespace lamina::distributed
