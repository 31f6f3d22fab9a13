#include <lamina/nn/restore.h>

#include <stdexcept>

namespace lamina::nn {
namespace {

// Module::load_state_dict's strict check (names and shapes, nothing changed on failure) plus dtypes.
void load_strictly(Module& model, const StateDict& state) {
  std::string dtype_mismatches;
  auto targets = model.named_parameters();
  for (auto& entry : model.named_buffers()) targets.push_back(entry);
  for (const auto& [name, t] : targets) {
    const Tensor* src = state.find(name);
    if (src && src->dtype() != t.dtype())
      dtype_mismatches += std::string(" ") + name + " (file " + dtype_name(src->dtype()) + ", model " + dtype_name(t.dtype()) + ")";
  }
  if (!dtype_mismatches.empty())
    throw std::invalid_argument("the state does not match the model; dtype mismatch:" + dtype_mismatches);
  model.load_state_dict(state, /*strict=*/true);
}

}  // namespace

void load_model_state(Module& model, const StateDict& state, const std::string& source) {
  try {
    load_strictly(model, state);
  } catch (const std::exception& e) {
    throw std::invalid_argument("'" + source + "': " + e.what());
  }
}

void restore_checkpoint(const Checkpoint& ckpt, const std::string& source, Module& model, Optimizer* optimizer,
                        LRScheduler* scheduler) {
  StateDict before;  // to put back if the optimizer's state does not fit
  auto targets = model.named_parameters();
  for (auto& entry : model.named_buffers()) targets.push_back(entry);
  for (const auto& [name, t] : targets)
    if (!t.is_deferred()) before.insert(name, t.detach().clone());
  try {
    load_strictly(model, ckpt.model);
    if (optimizer) {
      try {
        optimizer->load_state_dict(ckpt.optimizer);
      } catch (const std::exception&) {
        model.load_state_dict(before, /*strict=*/false);
        throw;
      }
    }
    if (scheduler) scheduler->set_count(ckpt.scheduler_count);
  } catch (const std::exception& e) {
    throw CheckpointError(source, e.what());
  }
  default_generator().set_state(ckpt.rng);
}

}  // namespace lamina::nn
