#pragma once
// DistributedDataParallel: wraps a module so that each rank's replica trains on its own shard of every batch and
// all replicas stay identical. Gradients are averaged across ranks during backward by a Reducer (bucketed,
// overlapped all-reduces); the optimizer step then runs unchanged on every rank.
//
//   auto model = std::make_shared<MLP>();
//   nn::DistributedDataParallel ddp(model, group);
//   loss(ddp(x), y).backward();   // gradients are averaged over all ranks when this returns
//   optimizer.step();
//
// The wrapper is transparent: its parameters and state dict have exactly the model's names (no "module."
// prefix). At construction it checks that every rank has the same parameter names, shapes and dtypes (an error
// naming the first difference, on every rank, never a hang) and broadcasts rank 0's parameters and buffers. A
// model with deferred (lazy) parameters is materialized by a dry run of the first forward, then checked and
// broadcast the same way. Frozen parameters (requires_grad false) are broadcast but never reduced. The model may
// outlive the wrapper, and then trains alone.
#include <memory>

#include <lamina/distributed/process_group.h>
#include <lamina/distributed/reducer.h>
#include <lamina/nn/module.h>

namespace lamina::distributed {

struct DdpOptions {
  std::size_t bucket_cap_bytes = std::size_t{25} << 20;
  std::size_t first_bucket_cap_bytes = std::size_t{1} << 20;
  // Treat parameters that got no gradient in a step as zero instead of reporting them.
  bool find_unused_parameters = false;
  // Broadcast rank 0's buffers (BatchNorm running statistics) before every forward.
  bool broadcast_buffers = true;
  // Every N forwards, compare a fingerprint of the parameters across ranks (0: never).
  int check_replicas_every = 0;
};

class DistributedDataParallel : public nn::Module {
 public:
  DistributedDataParallel(std::shared_ptr<nn::Module> module, std::shared_ptr<ProcessGroup> group, DdpOptions options = {});

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "DistributedDataParallel"; }
  nn::Module& module() const { return *module_; }
  ProcessGroup& group() const { return *group_; }
  // The reducer, once the replicas are initialized (after construction, or after the first forward for a model
  // with deferred parameters); nullptr before.
  const Reducer* reducer() const { return reducer_.get(); }

  // While the returned guard lives, backward passes only accumulate gradients locally (gradient accumulation);
  // the first backward after it ends reduces everything accumulated.
  class NoSync {
   public:
    explicit NoSync(DistributedDataParallel& ddp) : ddp_(ddp) { ddp_.sync_ = false; }
    ~NoSync() { ddp_.sync_ = true; }
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    DistributedDataParallel& ddp_;
  };
  NoSync no_sync() { return NoSync(*this); }

  // Throws CollectiveError naming the ranks whose parameters differ from rank 0's.
  void check_replicas();

 private:
  void initialize_replicas();
  void verify_same_structure();
  void broadcast_buffers();

  std::shared_ptr<nn::Module> module_;
  std::shared_ptr<ProcessGroup> group_;
  DdpOptions options_;
  std::unique_ptr<Reducer> reducer_;
  bool sync_ = true;
  std::int64_t forwards_ = 0;
};

}  // namespace lamina::distributed
