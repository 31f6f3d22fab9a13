#pragma once
// Optimizer: updates named parameters from their gradients. Per-parameter state (momentum, Adam moments) is kept
// under the parameter's name, so an optimizer's state_dict() can be loaded into a fresh optimizer over a freshly
// built model — also one whose parameters were created in a different order or on another world size.
#include <string>
#include <utility>
#include <vector>

#include <lamina/core/tensor.h>
#include <lamina/nn/state_dict.h>

namespace lamina::nn {

using NamedParameters = std::vector<std::pair<std::string, Tensor>>;

class Optimizer {
 public:
  Optimizer(NamedParameters parameters, double lr);
  virtual ~Optimizer() = default;

  // One update of every parameter that has a gradient (runs without recording autograd).
  virtual void step() = 0;
  // Clears gradients: drops them (set_to_none, the default) or zeroes them in place (keeps the buffers, which
  // DistributedDataParallel relies on when gradients are views into its buckets).
  void zero_grad(bool set_to_none = true);

  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  std::int64_t steps() const { return steps_; }
  const NamedParameters& parameters() const { return parameters_; }

  // Hyperparameters, the step count, and per-parameter state as "<state>.<parameter name>" entries.
  StateDict state_dict() const;
  // Restores what state_dict() produced; per-parameter state for a name this optimizer does not have, or of the
  // wrong shape, is an error naming it, and nothing is changed then.
  void load_state_dict(const StateDict& state);

 protected:
  // The state tensor `kind` ("momentum_buffer", "exp_avg", ...) of parameter `name`, created as zeros like `param`
  // on first use.
  Tensor state(const std::string& kind, const std::string& name, const Tensor& param);
  bool has_state(const std::string& kind, const std::string& name) const;
  // Scalars a subclass wants saved: (key, pointer to value).
  virtual std::vector<std::pair<std::string, double*>> hyperparameters() { return {{"lr", &lr_}}; }

  NamedParameters parameters_;
  double lr_;
  std::int64_t steps_ = 0;

 private:
  std::vector<std::pair<std::string, Tensor>> state_;  // key "<kind>.<parameter name>"
};

}  // namespace lamina::nn
