#include "device_selection.h"

#include <stdexcept>

#if LAMINA_WITH_CUDA
#include <lamina/core/cuda/blas.h>
#include <lamina/core/cuda/cuda_allocator.h>
#endif
#if LAMINA_WITH_NCCL
#include <lamina/distributed/nccl_process_group.h>
#endif

namespace lamina::launch {

Device select_device(const std::string& name, bool allow_tf32, const distributed::Environment& env) {
  if (name == "cpu") {
    if (allow_tf32) throw std::invalid_argument("--allow-tf32 applies to --device cuda only");
    return Device::cpu();
  }
  const std::string where = "--device cuda on " + env.hostname + " (rank " + std::to_string(env.world_rank) + ")";
#if LAMINA_WITH_CUDA
  std::string reason;
  const int count = cuda::device_count(&reason);
  if (count == 0) throw std::runtime_error(where + ": no usable CUDA device: " + reason);
  if (env.local_size > count)
    throw std::runtime_error(where + ": " + std::to_string(env.local_size) + " ranks on this host but only " +
                             std::to_string(count) + " CUDA device(s); run at most one rank per GPU");
  cuda::set_allow_tf32(allow_tf32);
  return Device::cuda(env.local_rank);
#else
  (void)allow_tf32;
  throw std::runtime_error(where + ": this lamina-train was built without CUDA (nvcc was not found when lamina was configured)");
#endif
}

std::shared_ptr<distributed::ProcessGroup> gradient_group(Device device, std::shared_ptr<distributed::ProcessGroup> host_group,
                                                          const distributed::ProcessGroupOptions& options) {
  if (device.is_cpu()) return host_group;
#if LAMINA_WITH_NCCL
  return std::make_shared<distributed::NcclProcessGroup>(options, MPI_COMM_WORLD, device.index);
#else
  (void)options;
  throw std::runtime_error("--device cuda with " + std::to_string(host_group->size()) +
                           " ranks needs NCCL, and this lamina-train was built without it");
#endif
}

}  // namespace lamina::launch
