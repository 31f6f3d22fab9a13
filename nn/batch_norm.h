#pragma once
// BatchNorm: normalizes each channel (dim 1) of [N, C] (BatchNorm1d) or [N, C, H, W] (BatchNorm2d) input with the
// batch's statistics in training — updating the running mean and variance buffers — and with those running
// statistics in eval mode; then scales and shifts by the learned weight and bias. num_features may be left out:
// it is inferred from the first input.
#include <cstdint>

#include <lamina/core/normalization.h>
#include <lamina/nn/module.h>

namespace lamina::nn {

struct BatchNormOptions {
  double eps = 1e-5;
  double momentum = 0.1;
  bool affine = true;  // learn weight and bias
};

class BatchNorm : public Module {
 public:
  // `dims` is the input rank it accepts: 2 (BatchNorm1d) or 4 (BatchNorm2d).
  BatchNorm(int dims, std::int64_t num_features, BatchNormOptions options);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return dims_ == 2 ? "BatchNorm1d" : "BatchNorm2d"; }
  std::string extra_repr() const override;
  // Computes training statistics over every process's batch through `reduce` (an all-reduce): SyncBatchNorm.
  // distributed::convert_sync_batch_norm sets it on every BatchNorm of a model.
  void set_statistics_reducer(StatisticsReducer reduce) { reduce_ = std::move(reduce); }

  Tensor weight, bias;                   // [C], learned
  Tensor running_mean, running_var;      // [C], buffers
  Tensor num_batches_tracked;            // int64 scalar, buffer

 private:
  void create_state(std::int64_t num_features, DType dtype);
  int dims_;
  std::int64_t num_features_;
  BatchNormOptions options_;
  StatisticsReducer reduce_;
};

class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(std::int64_t num_features = -1, BatchNormOptions options = {}) : BatchNorm(2, num_features, options) {}
};

class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(std::int64_t num_features = -1, BatchNormOptions options = {}) : BatchNorm(4, num_features, options) {}
};

}  // namespace lamina::nn
