#pragma once
// SyncBatchNorm: BatchNorm whose training statistics are those of the whole distributed batch, not each rank's
// shard — so that N ranks with per-rank batch B/N compute exactly what one process with batch B computes.
// Each BatchNorm forward then costs two small all-reduces (sums, then squared deviations) and its backward one.
#include <memory>

#include <lamina/distributed/process_group.h>
#include <lamina/nn/module.h>

namespace lamina::distributed {

// Makes every BatchNorm in `model` synchronize its statistics over `group`. Returns how many it converted. The
// per-channel sums stay on the model's device and are all-reduced there: pass a group of that device's tensors, an
// NcclProcessGroup for a model on CUDA (an MpiProcessGroup refuses CUDA tensors, naming them).
int convert_sync_batch_norm(nn::Module& model, std::shared_ptr<ProcessGroup> group);

}  // namespace lamina::distributed
