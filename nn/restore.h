#pragma once
// Putting saved state back into live objects, with every check done before anything changes: a model from a state
// dict (a checkpoint's, or one imported from .npz), and a whole training state from a Checkpoint.
#include <string>

#include <lamina/nn/checkpoint.h>
#include <lamina/nn/lr_scheduler.h>
#include <lamina/nn/module.h>
#include <lamina/nn/optimizer.h>
#include <lamina/nn/state_dict.h>

namespace lamina::nn {

// Loads `state` into `model`: every name, shape and dtype must match (Module::load_state_dict's strict check, plus
// dtypes). An error (std::invalid_argument) names `source` and every mismatch, and leaves the model unchanged.
// Values move to each parameter's device (a checkpoint holds CPU data), so a state saved from a GPU model loads
// into a CPU one and the other way round.
void load_model_state(Module& model, const StateDict& state, const std::string& source);

// Applies a loaded checkpoint: the model, the optimizer and scheduler (either may be null), then lamina's default
// generator, with load_model_state's checks. All or nothing: when the optimizer's state does not fit, the model is
// put back as it was. Errors are CheckpointErrors naming `source`.
void restore_checkpoint(const Checkpoint& ckpt, const std::string& source, Module& model, Optimizer* optimizer,
                        LRScheduler* scheduler);

}  // namespace lamina::nn
