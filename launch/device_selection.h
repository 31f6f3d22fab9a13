#pragma once
// --device: where this rank's replica lives. With cuda, rank r of a host takes that host's GPU r (its MPI local
// rank), so the ranks of a host never share a device (NCCL refuses two ranks on one GPU).
#include <memory>
#include <string>

#include <lamina/core/device.h>
#include <lamina/distributed/environment.h>
#include <lamina/distributed/process_group.h>

namespace lamina::launch {

// Throws a clear error when `name` is cuda and this lamina-train was built without CUDA, or the host has no
// usable device, or fewer devices than ranks. `allow_tf32` sets cuBLAS's TF32 switch for the process.
Device select_device(const std::string& name, bool allow_tf32, const distributed::Environment& env);

// The process group the replicas' gradients are averaged over: `host_group` (MPI) for CPU replicas, NCCL on the
// rank's GPU for CUDA ones.
std::shared_ptr<distributed::ProcessGroup> gradient_group(Device device, std::shared_ptr<distributed::ProcessGroup> host_group,
                                                          const distributed::ProcessGroupOptions& options);

}  // namespace lamina::launch
