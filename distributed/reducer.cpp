#include <lamina/distributed/reducer.h>

#include <stdexcept>

#include <lamina/core/autograd.h>

namespace lamina::distributed {

Reducer::Reducer(std::vector<std::pair<std::string, Tensor>> parameters, std::shared_ptr<ProcessGroup> group,
                 ReducerOptions options)
    : parameters_(std::move(parameters)), group_(std::move(group)), options_(options) {
  build_buckets();
  // The hooks hold the reducer by pointer; the destructor removes them.
  for (std::size_t i = 0; i < parameters_.size(); ++i)
    hook_keys_.push_back(parameters_[i].second.register_post_accumulate_grad_hook([this, i](Tensor&) { mark_ready(i); }));
}

Reducer::~Reducer() {
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    Tensor& p = parameters_[i].second;
    p.remove_post_accumulate_grad_hook(hook_keys_[i]);
    p.set_grad_destination(Tensor());
  }
}

void Reducer::build_buckets() {
  const std::size_t n = parameters_.size();
  bucket_of_.assign(n, 0);
  slot_in_bucket_.assign(n, 0);
  ready_.assign(n, false);
  // Walk parameters last to first; start a new bucket when the cap would be passed, the dtype changes, or a
  // parameter gets a bucket of its own.
  std::vector<std::vector<std::size_t>> groups;
  std::size_t bytes = 0;
  DType dtype = DType::Float32;
  bool open = false;  // the last bucket takes more parameters
  for (std::size_t k = n; k-- > 0;) {
    const Tensor& p = parameters_[k].second;
    const std::size_t size = static_cast<std::size_t>(p.numel()) * dtype_size(p.dtype());
    // groups.size() == 1: the bucket being filled is the first one, which gets the smaller cap.
    const std::size_t cap = groups.size() == 1 ? options_.first_bucket_cap_bytes : options_.bucket_cap_bytes;
    const bool own = size >= kOwnBucketBytes;
    if (!open || own || p.dtype() != dtype || bytes + size > cap) {
      groups.emplace_back();
      bytes = 0;
      dtype = p.dtype();
    }
    groups.back().push_back(k);
    bytes += size;
    open = !own;
  }
  buckets_.clear();
  for (std::size_t b = 0; b < groups.size(); ++b) {
    Bucket bucket;
    std::int64_t total = 0;
    for (std::size_t k : groups[b]) {
      bucket_of_[k] = b;
      slot_in_bucket_[k] = bucket.parameters.size();
      bucket.parameters.push_back(k);
      bucket.offsets.push_back(total);
      total += parameters_[k].second.numel();
    }
    const Tensor& first = parameters_[groups[b].front()].second;
    bucket.buffer = group_->allocate_symmetric(total, first.dtype(), first.device());
    bucket.symmetric = bucket.buffer.defined();
    if (!bucket.symmetric) bucket.buffer = zeros({total}, {.dtype = first.dtype(), .device = first.device()});
    buckets_.push_back(std::move(bucket));
  }
  // Point every gradient at its place in the buckets, keeping any gradient accumulated before wrapping, and let
  // backward write a fresh gradient there directly where it can.
  for (std::size_t k = 0; k < n; ++k) {
    Tensor& p = parameters_[k].second;
    Tensor view = gradient_view(k);
    if (p.grad().defined()) view.copy_(p.grad());
    p.set_grad(view);
    p.set_grad_destination(view);
  }
  timings_.assign(buckets_.size(), {});
}

Tensor Reducer::gradient_view(std::size_t index) const {
  const Bucket& bucket = buckets_[bucket_of_[index]];
  const Tensor& p = parameters_[index].second;
  const std::int64_t offset = bucket.offsets[slot_in_bucket_[index]];
  return bucket.buffer.slice(0, offset, offset + p.numel()).view(p.shape());
}

double Reducer::now_us() const {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - step_start_).count();
}

void Reducer::prepare_for_backward() {
  armed_ = true;
  finalize_queued_ = false;
  next_to_launch_ = 0;
  ready_.assign(parameters_.size(), false);
  for (Bucket& bucket : buckets_) {
    bucket.pending = bucket.parameters.size();
    bucket.work.reset();
  }
  step_start_ = std::chrono::steady_clock::now();
  timings_.assign(buckets_.size(), {});
}

void Reducer::mark_ready(std::size_t index) {
  if (!armed_) return;  // a backward not preceded by a DDP forward, or under no_sync(): local accumulation only
  if (!finalize_queued_) {
    autograd::queue_callback([this] { finalize(); });
    finalize_queued_ = true;
  }
  if (ready_[index]) return;
  ready_[index] = true;
  // The gradient must live in the bucket. It does unless .grad() was replaced (zero_grad(set_to_none) drops the
  // view) and the op that computed the new one could not write it into its grad destination: copy it in and
  // restore the view — or, in a bucket of its own that is not symmetric, make that tensor the bucket (see the
  // header).
  Tensor& p = parameters_[index].second;
  const Tensor grad = p.grad();
  Bucket& bucket = buckets_[bucket_of_[index]];
  Tensor view = gradient_view(index);
  if (grad.storage().data() != view.storage().data() || grad.offset() != view.offset()) {
    if (!bucket.symmetric && bucket.parameters.size() == 1 && grad.is_contiguous() && grad.dtype() == bucket.buffer.dtype() &&
        grad.device() == bucket.buffer.device()) {
      bucket.buffer = grad.view({grad.numel()});  // the gradient becomes the bucket: no copy
      p.set_grad_destination(grad);  // and the destination follows it, so the old buffer can be freed
    } else {
      view.copy_(grad);
      p.set_grad(view);
    }
  }
  if (--bucket.pending == 0) {
    timings_[bucket_of_[index]].ready_us = now_us();
    launch_ready_buckets();
  }
}

void Reducer::launch_ready_buckets() {
  while (next_to_launch_ < buckets_.size() && buckets_[next_to_launch_].pending == 0) {
    Bucket& bucket = buckets_[next_to_launch_];
    timings_[next_to_launch_].launched_us = now_us();
    bucket.work = group_->allreduce(bucket.buffer, ReduceOp::Average);
    ++next_to_launch_;
  }
}

void Reducer::finalize() {
  backward_end_us_ = now_us();
  armed_ = false;
  std::string missing;
  for (std::size_t k = 0; k < parameters_.size(); ++k) {
    if (ready_[k]) continue;
    if (!options_.find_unused_parameters) {
      missing += (missing.empty() ? "" : ", ") + parameters_[k].first;
      continue;
    }
    // An unused parameter contributes zero on this rank (ranks may differ in which parameters they used).
    gradient_view(k).zero_();
    parameters_[k].second.set_grad(gradient_view(k));
    ready_[k] = true;
    Bucket& bucket = buckets_[bucket_of_[k]];
    if (--bucket.pending == 0) timings_[bucket_of_[k]].ready_us = now_us();
  }
  if (!missing.empty())
    throw CollectiveError("DistributedDataParallel on rank " + std::to_string(group_->rank()) +
                          ": these parameters received no gradient in this backward pass: " + missing +
                          ". Use find_unused_parameters = true if the model does not use every parameter each step.");
  launch_ready_buckets();
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    buckets_[b].work->wait();
    const auto completed = buckets_[b].work->completed_at();
    timings_[b].done_us = completed == std::chrono::steady_clock::time_point{}
                              ? now_us()
                              : std::chrono::duration<double, std::micro>(completed - step_start_).count();
  }
}

}  // namespace lamina::distributed
