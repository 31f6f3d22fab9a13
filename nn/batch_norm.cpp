#include <lamina/nn/batch_norm.h>

#include <stdexcept>

#include <lamina/core/normalization.h>

namespace lamina::nn {

BatchNorm::BatchNorm(int dims, std::int64_t num_features, BatchNormOptions options)
    : dims_(dims), num_features_(num_features), options_(options) {
  if (options.affine) {
    weight = register_parameter("weight", {num_features}, init::constant(1.0));
    bias = register_parameter("bias", {num_features}, init::constant(0.0));
  }
  // The running statistics are buffers, which have no deferred form: without num_features they are created with
  // the first input.
  if (num_features > 0) create_state(num_features, DType::Float32);
}

void BatchNorm::create_state(std::int64_t num_features, DType dtype) {
  running_mean = register_buffer("running_mean", zeros({num_features}, {.dtype = dtype}));
  running_var = register_buffer("running_var", ones({num_features}, {.dtype = dtype}));
  num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, {.dtype = DType::Int64}));
}

Tensor BatchNorm::forward(const Tensor& x) {
  if (x.dim() != dims_)
    throw std::invalid_argument(type_name() + ": expected a " + std::to_string(dims_) + "-d input, got shape " +
                                shape_str(x.shape()));
  if (!running_mean.defined()) {
    num_features_ = x.size(1);
    create_state(num_features_, x.dtype());
  }
  if (options_.affine) {
    materialize("weight", {x.size(1)});
    materialize("bias", {x.size(1)});
  }
  if (is_training()) num_batches_tracked.fill_(num_batches_tracked.item() + 1);
  return batch_norm(x, weight, bias, running_mean, running_var, is_training(), options_.momentum, options_.eps, reduce_);
}

std::string BatchNorm::extra_repr() const {
  return std::to_string(num_features_) + ", eps=" + std::to_string(options_.eps) + ", momentum=" + std::to_string(options_.momentum);
}

}  // namespace lamina::nn
