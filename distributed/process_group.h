#pragma once
// ProcessGroup: the collectives data-parallel training needs, over a fixed set of ranks. Every call is
// asynchronous and returns a Work to wait on; collectives on one group run in the order they were issued, on
// every rank. A collective that does not complete within the group's timeout fails with an error that names the
// collective, its size and the rank (MpiProcessGroup also names the ranks that never arrived) — never a silent hang.
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <lamina/core/tensor.h>

namespace lamina::distributed {

enum class ReduceOp { Sum, Average, Max };
std::string reduce_op_name(ReduceOp op);

// A collective failed: timed out, mismatched across ranks, or the transport reported an error.
class CollectiveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Work {
 public:
  virtual ~Work() = default;
  // Blocks until the collective has completed; throws CollectiveError if it failed or timed out.
  virtual void wait() = 0;
  // True once the collective has completed (successfully or not); never blocks.
  virtual bool is_completed() = 0;
  // When it completed, for timelines; the default epoch when it has not, or when the backend does not know.
  virtual std::chrono::steady_clock::time_point completed_at() const { return {}; }
};

struct ProcessGroupOptions {
  // How long wait() blocks before declaring the collective stuck.
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  // Compare (sequence number, op, bytes, dtype) across ranks before each collective, so that ranks issuing
  // different collectives get an error naming both instead of a hang or garbage.
  bool check_signatures = true;
  // MpiProcessGroup: when its two ranks share a node, compare signatures and all-reduce through shared memory
  // (SharedMemoryChannel) rather than through MPI.
  bool shared_memory = true;
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend_name() const = 0;

  // In place: every rank ends with op over all ranks' `tensor` (contiguous).
  virtual std::shared_ptr<Work> allreduce(Tensor& tensor, ReduceOp op = ReduceOp::Sum) = 0;
  // In place: every rank ends with root's `tensor`.
  virtual std::shared_ptr<Work> broadcast(Tensor& tensor, int root = 0) = 0;
  // outputs[r] receives rank r's `input`; outputs must hold size() tensors shaped like input.
  virtual std::shared_ptr<Work> allgather(std::vector<Tensor>& outputs, const Tensor& input) = 0;
  // output = op over ranks of the rank()-th of size() equal chunks of `input` (input.numel() = size · output.numel()).
  virtual std::shared_ptr<Work> reduce_scatter(Tensor& output, const Tensor& input, ReduceOp op = ReduceOp::Sum) = 0;
  virtual std::shared_ptr<Work> barrier() = 0;

  // Collective, called in the same order on every rank: a zero-filled 1-D tensor in symmetric memory, one copy per
  // rank, each of which the group can reach directly (MpiProcessGroup: a shared-memory segment that the ranks of
  // one node all map), so that an all-reduce of it runs in place, without staging copies. For tensors that are
  // all-reduced again and again, such as DistributedDataParallel's buckets. An undefined tensor, on every rank
  // alike, when the group has no symmetric memory for `device` (the default): any tensor then does as well.
  virtual Tensor allocate_symmetric(std::int64_t numel, DType dtype, Device device);
};

}  // namespace lamina::distributed
