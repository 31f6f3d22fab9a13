#include <lamina/distributed/distributed_data_parallel.h>

#include <algorithm>
#include <functional>
#include <stdexcept>

#include <lamina/core/autograd.h>
#include <lamina/core/shape_ops.h>
#include <lamina/nn/fingerprint.h>

namespace lamina::distributed {
namespace {

bool has_deferred(const nn::Module& m) {
  for (const auto& [name, t] : m.named_parameters())
    if (t.is_deferred()) return true;
  return false;
}

// Text of one parameter or buffer for comparison across ranks: "name [shape] dtype".
std::string describe_entry(const std::string& kind, const std::string& name, const Tensor& t) {
  return kind + " '" + name + "' " + shape_str(t.shape()) + " " + dtype_name(t.dtype());
}

// Where the replica's parameters live, and so where the group's collectives run (NCCL's on the rank's GPU).
Device device_of(const nn::Module& module) {
  const std::vector<Tensor> params = module.parameters();
  return params.empty() ? Device::cpu() : params.front().device();
}

// Every rank's value of `local`, gathered. `device` is where the group's collectives run (NCCL's on a GPU).
std::vector<std::int64_t> allgather_value(ProcessGroup& group, std::int64_t local, Device device) {
  Tensor in = from_vector<std::int64_t>({local}, {1}).to(device);
  std::vector<Tensor> out;
  for (int r = 0; r < group.size(); ++r) out.push_back(zeros({1}, {.dtype = DType::Int64, .device = device}));
  group.allgather(out, in)->wait();
  std::vector<std::int64_t> values;
  for (const Tensor& t : out) values.push_back(t.item<std::int64_t>());
  return values;
}

// Every rank's `text`, gathered (padded to the longest).
std::vector<std::string> allgather_text(ProcessGroup& group, const std::string& text, Device device) {
  std::int64_t longest = 0;
  for (std::int64_t n : allgather_value(group, static_cast<std::int64_t>(text.size()), device)) longest = std::max(longest, n);
  std::vector<std::int64_t> codes(longest, 0);
  for (std::size_t i = 0; i < text.size(); ++i) codes[i] = static_cast<unsigned char>(text[i]);
  Tensor in = from_vector<std::int64_t>(codes, {longest}).to(device);
  std::vector<Tensor> out;
  for (int r = 0; r < group.size(); ++r) out.push_back(zeros({longest}, {.dtype = DType::Int64, .device = device}));
  group.allgather(out, in)->wait();
  std::vector<std::string> texts;
  for (const Tensor& t : out) {
    std::string s;
    for (std::int64_t c : t.to_vector<std::int64_t>())
      if (c) s += static_cast<char>(c);
    texts.push_back(s);
  }
  return texts;
}

// Rank 0's `tensors` on every rank, with one broadcast per dtype and device: the tensors of each travel packed into
// one flat tensor. A collective costs far more than copying a few KiB, and a BatchNorm model has three buffers per
// layer (ResNet-18: 60) to send before every forward.
void broadcast_coalesced(ProcessGroup& group, const std::vector<Tensor>& tensors) {
  std::vector<std::vector<Tensor>> batches;  // tensors of one dtype and device, in their order
  for (const Tensor& t : tensors) {
    auto batch = std::find_if(batches.begin(), batches.end(), [&](const std::vector<Tensor>& b) {
      return b.front().dtype() == t.dtype() && b.front().device() == t.device();
    });
    if (batch == batches.end()) batches.push_back({t});
    else batch->push_back(t);
  }
  for (const std::vector<Tensor>& batch : batches) {
    std::vector<std::int64_t> offsets{0};  // of each tensor in the flat one
    std::vector<Tensor> flattened;
    for (const Tensor& t : batch) {
      offsets.push_back(offsets.back() + t.numel());
      flattened.push_back(t.reshape({-1}));
    }
    Tensor flat = group.rank() == 0 ? cat(flattened, 0)
                                    : Tensor::empty({offsets.back()}, {.dtype = batch.front().dtype(), .device = batch.front().device()});
    group.broadcast(flat, 0)->wait();
    if (group.rank() == 0) continue;
    for (std::size_t i = 0; i < batch.size(); ++i)
      Tensor(batch[i]).copy_(flat.slice(0, offsets[i], offsets[i + 1]).view(batch[i].shape()));
  }
}

}  // namespace

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<nn::Module> module, std::shared_ptr<ProcessGroup> group,
                                                 DdpOptions options)
    : module_(std::move(module)), group_(std::move(group)), options_(options) {
  if (!module_ || !group_) throw std::invalid_argument("DistributedDataParallel: null module or process group");
  register_module("", module_);
  if (!has_deferred(*module_)) initialize_replicas();
}

void DistributedDataParallel::verify_same_structure() {
  std::vector<std::string> entries;
  for (const auto& [name, t] : module_->named_parameters())
    entries.push_back(describe_entry(t.requires_grad() ? "parameter" : "frozen parameter", name, t));
  for (const auto& [name, t] : module_->named_buffers()) entries.push_back(describe_entry("buffer", name, t));
  const std::string rank_prefix = "DistributedDataParallel: the replicas differ: ";
  const Device device = device_of(*module_);

  const auto counts = allgather_value(*group_, static_cast<std::int64_t>(entries.size()), device);
  std::int64_t common = counts[0];
  for (std::int64_t c : counts) common = std::min(common, c);
  // The first index whose description differs on some rank (or the end of the shortest list).
  for (std::int64_t i = 0; i <= common; ++i) {
    const bool past_end = i == common;
    const std::uint64_t h = past_end ? 0 : std::hash<std::string>{}(entries[i]);
    const auto hashes = allgather_value(*group_, static_cast<std::int64_t>(h), device);
    bool same = true;
    for (std::int64_t v : hashes) same = same && v == hashes[0];
    if (past_end) {
      bool same_count = true;
      for (std::int64_t c : counts) same_count = same_count && c == counts[0];
      if (same_count) return;
      std::string msg = rank_prefix + "number of parameters and buffers per rank:";
      for (std::size_t r = 0; r < counts.size(); ++r) msg += " rank " + std::to_string(r) + ": " + std::to_string(counts[r]) + ";";
      throw std::invalid_argument(msg);
    }
    if (same) continue;
    const auto texts = allgather_text(*group_, entries[i], device);
    std::string msg = rank_prefix + "entry #" + std::to_string(i) + " is";
    for (std::size_t r = 0; r < texts.size(); ++r) msg += (r ? ", " : " ") + texts[r] + " on rank " + std::to_string(r);
    throw std::invalid_argument(msg);
  }
}

void DistributedDataParallel::initialize_replicas() {
  verify_same_structure();
  NoGradGuard no_grad;
  std::vector<Tensor> state;
  for (auto& [name, t] : module_->named_parameters()) state.push_back(t);
  for (auto& [name, t] : module_->named_buffers()) state.push_back(t);
  broadcast_coalesced(*group_, state);
  // Frozen parameters (requires_grad false) get no gradient: they are broadcast with the others, never reduced.
  std::vector<std::pair<std::string, Tensor>> trained;
  for (auto& [name, t] : module_->named_parameters())
    if (t.requires_grad()) trained.emplace_back(name, t);
  reducer_ = std::make_unique<Reducer>(std::move(trained), group_,
                                       ReducerOptions{options_.bucket_cap_bytes, options_.first_bucket_cap_bytes,
                                                      options_.find_unused_parameters});
}

void DistributedDataParallel::broadcast_buffers() {
  std::vector<Tensor> buffers;
  for (auto& [name, t] : module_->named_buffers()) buffers.push_back(t);
  NoGradGuard no_grad;
  broadcast_coalesced(*group_, buffers);
}

Tensor DistributedDataParallel::forward(const Tensor& x) {
  if (!reducer_) {
    // Deferred parameters: a dry run (eval mode, no graph) gives them their shapes without touching running
    // statistics or the dropout stream; then the replicas are checked and synchronized as usual.
    const bool was_training = is_training();
    module_->eval();
    {
      NoGradGuard no_grad;
      (*module_)(x);
    }
    module_->train(was_training);
    initialize_replicas();
  }
  if (options_.broadcast_buffers && group_->size() > 1) broadcast_buffers();
  if (options_.check_replicas_every > 0 && forwards_ % options_.check_replicas_every == 0) check_replicas();
  ++forwards_;
  if (sync_ && GradMode::is_enabled()) reducer_->prepare_for_backward();
  return (*module_)(x);
}

void DistributedDataParallel::check_replicas() {
  const std::uint64_t mine = nn::fingerprint(module_->parameters());
  const auto all = allgather_value(*group_, static_cast<std::int64_t>(mine), device_of(*module_));
  std::string diverged;
  for (std::size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0]) diverged += (diverged.empty() ? "" : ", ") + std::to_string(r);
  if (!diverged.empty())
    throw CollectiveError("DistributedDataParallel: the parameters of rank(s) " + diverged +
                          " differ from rank 0's (replicas diverged)");
}

}  // namespace lamina::distributed
