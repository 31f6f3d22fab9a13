#pragma once
// Reducer: averages gradients across ranks during the backward pass.
//
// Parameters are packed, in reverse registration order (roughly the order backward produces their gradients),
// into buckets: one flat, persistent buffer per bucket, and each parameter's .grad() is a view into it, so
// gradients are accumulated straight into the buffer that is all-reduced — no copy in or out. The buffers are the
// group's symmetric memory where it has some (ProcessGroup::allocate_symmetric; MpiProcessGroup's two ranks on one
// node), which it all-reduces in place, without staging copies. When the last
// gradient of a bucket is ready (a post-accumulate hook on each parameter tells it), the bucket's all-reduce is
// started at once and runs while backward computes the remaining gradients. Buckets are launched strictly in
// index order, so every rank issues the same collectives in the same order. When backward finishes, the reducer
// waits for the outstanding all-reduces. A backward started from inside another (from a hook) must not reach the
// parameters: one pass would mark them ready while the other still computes their gradients.
//
// After optimizer.zero_grad() (which sets gradients to none) backward computes each gradient anew. Every
// parameter's grad destination (Tensor::set_grad_destination) is its place in the bucket, so the weight gradients
// of linear and convolution layers are computed straight into the bucket: in the MLP's DDP step the time from the first bucket's
// being ready to the second's (the first layer's 784 KiB weight gradient) fell from 60-80 µs, most of it the copy,
// to 12-27 µs. A gradient that still arrives as a fresh tensor (from any other op) is copied into its place in the
// bucket. A parameter of kOwnBucketBytes or more gets a bucket of its own, and there, unless the bucket is
// symmetric, the fresh buffer becomes the bucket instead: the copy would cost about as much memory traffic as an
// all-reduce through staging buffers. With symmetric memory the copy pays for itself: the 784 KiB took 33-48 µs
// to copy and 46-61 µs to reduce in place, against 113-180 µs to reduce through the SharedMemoryChannel's slots
// (benchmarks/README.md).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <lamina/core/tensor.h>
#include <lamina/distributed/process_group.h>

namespace lamina::distributed {

struct ReducerOptions {
  std::size_t bucket_cap_bytes = std::size_t{25} << 20;
  // The first bucket (the last layers' gradients, ready first) is small so that communication starts early.
  std::size_t first_bucket_cap_bytes = std::size_t{1} << 20;
  // Parameters that received no gradient in a backward pass count as zero instead of being an error.
  bool find_unused_parameters = false;
};

struct Bucket {
  Tensor buffer;                        // flat and contiguous; the parameters' gradients are views into it
  std::vector<std::size_t> parameters;  // indices into the reducer's parameter list
  std::vector<std::int64_t> offsets;    // element offset of each parameter's gradient in buffer
  std::size_t pending = 0;              // gradients not yet ready in the current backward pass
  std::shared_ptr<Work> work;
  // Whether buffer is in the group's symmetric memory, where its all-reduce runs in place.
  bool symmetric = false;
};

// When each bucket became ready, was launched and completed (as the process group saw it, or else when the reducer
// found it complete), in microseconds since the step's forward.
struct BucketTiming {
  double ready_us = 0, launched_us = 0, done_us = 0;
};

class Reducer {
 public:
  static constexpr std::size_t kOwnBucketBytes = std::size_t{512} << 10;

  Reducer(std::vector<std::pair<std::string, Tensor>> parameters, std::shared_ptr<ProcessGroup> group,
          ReducerOptions options);
  // Unhooks the parameters: a model that outlives its DistributedDataParallel trains alone.
  ~Reducer();
  Reducer(const Reducer&) = delete;
  Reducer& operator=(const Reducer&) = delete;

  // Arms the reducer for the next backward pass (DDP's forward calls it; skipped under no_sync()).
  void prepare_for_backward();
  const std::vector<Bucket>& buckets() const { return buckets_; }
  // Timings of the last reduced backward pass, one per bucket, and when that backward finished.
  const std::vector<BucketTiming>& last_timings() const { return timings_; }
  double last_backward_end_us() const { return backward_end_us_; }
  // When the last reduced step's forward began (the origin of its timings).
  std::chrono::steady_clock::time_point last_step_start() const { return step_start_; }

 private:
  void build_buckets();
  void mark_ready(std::size_t index);
  void launch_ready_buckets();
  void finalize();
  double now_us() const;
  Tensor gradient_view(std::size_t index) const;

  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::uint64_t> hook_keys_;  // one per parameter
  std::shared_ptr<ProcessGroup> group_;
  ReducerOptions options_;
  std::vector<Bucket> buckets_;
  std::vector<std::size_t> bucket_of_;     // parameter index -> bucket index
  std::vector<std::size_t> slot_in_bucket_;  // parameter index -> position in that bucket
  std::vector<bool> ready_;
  std::size_t next_to_launch_ = 0;
  bool armed_ = false;
  bool finalize_queued_ = false;
  std::chrono::steady_clock::time_point step_start_;
  std::vector<BucketTiming> timings_;
  double backward_end_us_ = 0;
};

}  // namespace lamina::distributed
