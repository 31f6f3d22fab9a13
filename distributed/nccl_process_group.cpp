#include <lamina/distributed/nccl_process_group.h>

#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <thread>

#include <lamina/core/checks.h>
#include <lamina/distributed/environment.h>
#include <lamina/distributed/signature.h>

namespace lamina::distributed {
namespace {

using Clock = std::chrono::steady_clock;

void check_cuda(cudaError_t rc, const char* call) {
  if (rc != cudaSuccess) throw CollectiveError(std::string(call) + " failed: " + cudaGetErrorString(rc));
}

ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::Float32: return ncclFloat32;
    case DType::Float64: return ncclFloat64;
    case DType::Int64: return ncclInt64;
  }
  throw std::logic_error("NcclProcessGroup: unknown dtype");
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return ncclSum;
    case ReduceOp::Average: return ncclAvg;
    case ReduceOp::Max: return ncclMax;
  }
  throw std::logic_error("NcclProcessGroup: unknown reduce op");
}

std::int64_t nbytes(const Tensor& t) { return t.numel() * static_cast<std::int64_t>(dtype_size(t.dtype())); }

}  // namespace

struct NcclProcessGroup::State {
  MPI_Comm mpi_comm = MPI_COMM_NULL;
  ncclComm_t comm = nullptr;
  int rank = 0;
  int size = 1;
  int device = 0;
  ProcessGroupOptions options;
  cudaStream_t stream = nullptr;
  cudaStream_t compute_stream = nullptr;
  float* scratch = nullptr;  // one float on the device, for barrier()
  bool aborted = false;
  std::mutex mutex;
  std::int64_t next_sequence = 0;
  std::deque<std::shared_ptr<Work>> in_flight;  // keeps tensors alive until their collective has finished

  // The communicator is non-blocking, so that no NCCL call can hang the host: an enqueue may return
  // ncclInProgress, and the communicator is ready again once its asynchronous error is no longer in progress.
  void check_nccl(ncclResult_t rc, const char* call) {
    const auto deadline = Clock::now() + options.timeout;
    while (rc == ncclInProgress) {
      if (Clock::now() > deadline) {
        abort();
        throw CollectiveError(std::string(call) + " did not finish within " + std::to_string(options.timeout.count()) +
                              " ms; the NCCL communicator was aborted");
      }
      std::this_thread::yield();
      ncclCommGetAsyncError(comm, &rc);
    }
    if (rc != ncclSuccess)
      throw CollectiveError(std::string(call) + " failed: " + ncclGetErrorString(rc) + " (" +
                            (comm ? ncclGetLastError(comm) : "") + ")");
  }

  void abort() {
    if (comm != nullptr && !aborted) ncclCommAbort(comm);
    aborted = true;
  }
};

namespace {

class NcclWork : public Work {
 public:
  NcclWork(std::string what, std::shared_ptr<NcclProcessGroup::State> state, std::vector<Tensor> tensors)
      : what_(std::move(what)), state_(std::move(state)), tensors_(std::move(tensors)) {}
  ~NcclWork() override {
    if (done_event_ != nullptr) cudaEventDestroy(done_event_);
  }

  void fail(std::string error) { error_ = std::move(error); }
  void set_done_event(cudaEvent_t event) { done_event_ = event; }

  void wait() override {
    if (!error_.empty()) throw CollectiveError(what_ + " failed: " + error_);
    const auto deadline = Clock::now() + state_->options.timeout;
    for (;;) {
      const cudaError_t rc = cudaEventQuery(done_event_);
      if (rc == cudaSuccess) return;
      if (rc != cudaErrorNotReady) throw CollectiveError(what_ + " failed: " + cudaGetErrorString(rc));
      ncclResult_t async = ncclSuccess;
      if (state_->comm != nullptr) ncclCommGetAsyncError(state_->comm, &async);
      if (async != ncclSuccess && async != ncclInProgress)
        throw CollectiveError(what_ + " failed: " + ncclGetErrorString(async) + " (" + ncclGetLastError(state_->comm) + ")");
      if (Clock::now() > deadline) {
        std::lock_guard lock(state_->mutex);
        state_->abort();
        throw CollectiveError(what_ + " did not complete within " + std::to_string(state_->options.timeout.count()) +
                              " ms (a peer rank has not reached it, or skipped it); the NCCL communicator was aborted");
      }
      std::this_thread::yield();
    }
  }

  bool is_completed() override { return !error_.empty() || cudaEventQuery(done_event_) != cudaErrorNotReady; }

 private:
  const std::string what_;
  std::shared_ptr<NcclProcessGroup::State> state_;
  std::vector<Tensor> tensors_;
  cudaEvent_t done_event_ = nullptr;
  std::string error_;
};

void check_tensor(const Tensor& t, int device, const char* op, const char* what) {
  check_defined(t, op, what);
  if (!(t.device() == Device::cuda(device)))
    throw std::invalid_argument(std::string(op) + ": " + what + " must be on this group's device cuda:" +
                                std::to_string(device) + ", got " + describe(t));
  if (!t.is_contiguous())
    throw std::invalid_argument(std::string(op) + ": " + what + " must be contiguous, got a strided view " + describe(t));
}

}  // namespace

NcclProcessGroup::NcclProcessGroup(ProcessGroupOptions options, MPI_Comm comm, int device)
    : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.options = options;
  ensure_mpi_initialized();
  MPI_Comm_dup(comm, &s.mpi_comm);
  MPI_Comm_set_errhandler(s.mpi_comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(s.mpi_comm, &s.rank);
  MPI_Comm_size(s.mpi_comm, &s.size);

  // Every rank sets up its device first and the ranks agree on the outcome, so that one rank without a GPU makes
  // all of them throw instead of leaving the others in NCCL's initialisation.
  std::string error;
  ncclUniqueId id{};
  int count = 0;
  if (const cudaError_t rc = cudaGetDeviceCount(&count); rc != cudaSuccess) {
    error = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorString(rc);
    cudaGetLastError();
  } else if (count == 0) {
    error = "no CUDA device";
  } else {
    s.device = device >= 0 ? device : environment().local_rank % count;
    try {
      check_cuda(cudaSetDevice(s.device), "cudaSetDevice");
      check_cuda(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
      check_cuda(cudaMalloc(&s.scratch, sizeof(float)), "cudaMalloc");
      if (s.rank == 0 && ncclGetUniqueId(&id) != ncclSuccess) error = "ncclGetUniqueId failed";
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  auto agree = [&](const char* stage) {
    int failed = error.empty() ? 0 : 1;
    MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, s.mpi_comm);
    if (failed == 0) return;
    s.abort();
    if (s.scratch != nullptr) cudaFree(s.scratch);
    if (s.stream != nullptr) cudaStreamDestroy(s.stream);
    MPI_Comm_free(&s.mpi_comm);
    throw std::runtime_error("NcclProcessGroup rank " + std::to_string(s.rank) + ": " + stage + " failed: " +
                             (error.empty() ? "another rank failed" : error));
  };
  agree("CUDA set-up");
  MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, s.mpi_comm);
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  try {
    s.check_nccl(ncclCommInitRankConfig(&s.comm, s.size, id, s.rank, &config), "ncclCommInitRankConfig");
  } catch (const std::exception& e) {
    error = e.what();
  }
  agree("NCCL initialisation");
}

NcclProcessGroup::~NcclProcessGroup() {
  State& s = *state_;
  {
    std::lock_guard lock(s.mutex);
    if (!s.aborted) {
      // Let the queued collectives finish (bounded by the timeout), then free the communicator.
      const auto deadline = Clock::now() + s.options.timeout;
      while (cudaStreamQuery(s.stream) == cudaErrorNotReady && Clock::now() < deadline) std::this_thread::yield();
      if (cudaStreamQuery(s.stream) == cudaErrorNotReady) s.abort();
    }
    s.in_flight.clear();
    if (!s.aborted) ncclCommDestroy(s.comm);  // ncclCommAbort frees it too
    s.comm = nullptr;  // for a Work that outlives the group
  }
  cudaFree(s.scratch);
  cudaStreamDestroy(s.stream);
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Comm_free(&s.mpi_comm);
}

int NcclProcessGroup::rank() const { return state_->rank; }
int NcclProcessGroup::size() const { return state_->size; }
int NcclProcessGroup::device() const { return state_->device; }
void NcclProcessGroup::set_compute_stream(void* stream) { state_->compute_stream = static_cast<cudaStream_t>(stream); }

namespace {

// Compares signatures, orders the group's stream after the compute stream, runs `launch` (the NCCL calls) and
// records the completion event. Errors become a failed Work, so that every rank reports them through wait().
template <typename Launch>
std::shared_ptr<Work> issue(const std::shared_ptr<NcclProcessGroup::State>& state, Signature signature,
                            std::vector<Tensor> tensors, Launch launch) {
  NcclProcessGroup::State& s = *state;
  std::lock_guard lock(s.mutex);
  signature.sequence = s.next_sequence++;
  auto work = std::make_shared<NcclWork>("NcclProcessGroup rank " + std::to_string(s.rank) + " of " +
                                             std::to_string(s.size) + ": " + signature_str(signature),
                                         state, std::move(tensors));
  try {
    if (s.aborted) throw CollectiveError("the NCCL communicator was aborted after an earlier timeout");
    if (s.options.check_signatures) {
      std::string mismatch;
      try {
        mismatch = compare_signatures(s.mpi_comm, signature, s.options.timeout);
      } catch (const CollectiveError&) {
        s.abort();  // a peer never came: this group is out of step for good
        throw;
      }
      if (!mismatch.empty()) throw CollectiveError(mismatch);
    }
    check_cuda(cudaSetDevice(s.device), "cudaSetDevice");
    cudaEvent_t ready = nullptr, done = nullptr;
    check_cuda(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming), "cudaEventCreateWithFlags");
    check_cuda(cudaEventRecord(ready, s.compute_stream), "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(s.stream, ready, 0), "cudaStreamWaitEvent");
    cudaEventDestroy(ready);  // released once the stream has passed it
    launch(s);
    check_cuda(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "cudaEventCreateWithFlags");
    work->set_done_event(done);
    check_cuda(cudaEventRecord(done, s.stream), "cudaEventRecord");
  } catch (const std::exception& e) {
    work->fail(e.what());
    return work;
  }
  while (!s.in_flight.empty() && s.in_flight.front()->is_completed()) s.in_flight.pop_front();
  s.in_flight.push_back(work);
  return work;
}

}  // namespace

std::shared_ptr<Work> NcclProcessGroup::allreduce(Tensor& tensor, ReduceOp op) {
  check_tensor(tensor, state_->device, "NcclProcessGroup::allreduce", "tensor");
  const Signature signature{.kind = CollectiveKind::Allreduce, .reduce_op = static_cast<std::int64_t>(op),
                            .bytes = nbytes(tensor), .dtype = static_cast<std::int64_t>(tensor.dtype())};
  return issue(state_, signature, {tensor}, [&](State& s) {
    s.check_nccl(ncclAllReduce(tensor.raw_data(), tensor.raw_data(), static_cast<std::size_t>(tensor.numel()),
                               nccl_type(tensor.dtype()), nccl_op(op), s.comm, s.stream),
                 "ncclAllReduce");
  });
}

std::shared_ptr<Work> NcclProcessGroup::broadcast(Tensor& tensor, int root) {
  check_tensor(tensor, state_->device, "NcclProcessGroup::broadcast", "tensor");
  if (root < 0 || root >= size())
    throw std::invalid_argument("NcclProcessGroup::broadcast: root " + std::to_string(root) +
                                " is not a rank of a group of " + std::to_string(size()));
  const Signature signature{.kind = CollectiveKind::Broadcast, .bytes = nbytes(tensor),
                            .dtype = static_cast<std::int64_t>(tensor.dtype()), .root = root};
  return issue(state_, signature, {tensor}, [&](State& s) {
    s.check_nccl(ncclBroadcast(tensor.raw_data(), tensor.raw_data(), static_cast<std::size_t>(tensor.numel()),
                               nccl_type(tensor.dtype()), root, s.comm, s.stream),
                 "ncclBroadcast");
  });
}

std::shared_ptr<Work> NcclProcessGroup::allgather(std::vector<Tensor>& outputs, const Tensor& input) {
  const char* op = "NcclProcessGroup::allgather";
  check_tensor(input, state_->device, op, "input");
  if (static_cast<int>(outputs.size()) != size())
    throw std::invalid_argument(std::string(op) + ": expected " + std::to_string(size()) +
                                " output tensors (one per rank), got " + std::to_string(outputs.size()));
  for (const Tensor& out : outputs) {
    check_tensor(out, state_->device, op, "output");
    if (out.dtype() != input.dtype() || out.shape() != input.shape())
      throw std::invalid_argument(std::string(op) + ": every output must be shaped like the input " + describe(input) +
                                  ", got " + describe(out));
  }
  const Signature signature{.kind = CollectiveKind::Allgather, .bytes = nbytes(input),
                            .dtype = static_cast<std::int64_t>(input.dtype())};
  std::vector<Tensor> keep = outputs;
  keep.push_back(input);
  // One broadcast per rank into its own output, fused into one NCCL launch: no staging buffer, no copies.
  return issue(state_, signature, std::move(keep), [&](State& s) {
    s.check_nccl(ncclGroupStart(), "ncclGroupStart");
    for (int r = 0; r < s.size; ++r)
      s.check_nccl(ncclBroadcast(input.raw_data(), outputs[static_cast<std::size_t>(r)].raw_data(),
                                 static_cast<std::size_t>(input.numel()), nccl_type(input.dtype()), r, s.comm, s.stream),
                   "ncclBroadcast");
    s.check_nccl(ncclGroupEnd(), "ncclGroupEnd");
  });
}

std::shared_ptr<Work> NcclProcessGroup::reduce_scatter(Tensor& output, const Tensor& input, ReduceOp op) {
  const char* name = "NcclProcessGroup::reduce_scatter";
  check_tensor(input, state_->device, name, "input");
  check_tensor(output, state_->device, name, "output");
  check_same_dtype(input, output, name);
  if (input.numel() != output.numel() * size())
    throw std::invalid_argument(std::string(name) + ": the input " + describe(input) + " must hold " +
                                std::to_string(size()) + " times the output's " + std::to_string(output.numel()) +
                                " elements (output " + describe(output) + ")");
  const Signature signature{.kind = CollectiveKind::ReduceScatter, .reduce_op = static_cast<std::int64_t>(op),
                            .bytes = nbytes(input), .dtype = static_cast<std::int64_t>(input.dtype())};
  return issue(state_, signature, {output, input}, [&](State& s) {
    s.check_nccl(ncclReduceScatter(input.raw_data(), output.raw_data(), static_cast<std::size_t>(output.numel()),
                                   nccl_type(input.dtype()), nccl_op(op), s.comm, s.stream),
                 "ncclReduceScatter");
  });
}

std::shared_ptr<Work> NcclProcessGroup::barrier() {
  return issue(state_, Signature{.kind = CollectiveKind::Barrier}, {}, [](State& s) {
    s.check_nccl(ncclAllReduce(s.scratch, s.scratch, 1, ncclFloat32, ncclSum, s.comm, s.stream), "ncclAllReduce");
  });
}

}  // namespace lamina::distributed
