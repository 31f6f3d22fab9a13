#pragma once
// The CUDA side of lamina's memory: a caching allocator per device (core/block_cache.h: blocks kept per stream,
// no cudaMalloc/cudaFree per op), pinned host buffers, and host<->device copies. Linking lamina::cuda registers
// it as core's DeviceBackend, so Tensor::empty(shape, {.device = Device::cuda(i)}) and Tensor::to(device) work.
// This header names no CUDA type: CPU code can include it.
#include <string>

#include <lamina/core/allocator.h>

namespace lamina::cuda {

// The number of usable devices; 0 when there is no driver or no device, with CUDA's reason in `*reason`.
int device_count(std::string* reason = nullptr);
// Throws naming `what` and the reason when `device` is not a usable device index.
void require_device(int device, const char* what);
// Allocated, reserved and peak bytes of the caching allocator on `device`.
AllocatorStats memory_stats(int device);
// Returns every cached (free) block of every device to the driver.
void empty_cache();
// Queue this thread's work on `stream` (a cudaStream_t; nullptr is the legacy default stream).
void set_current_stream(void* stream);
// Waits for all work queued on `device`.
void synchronize(int device);

}  // namespace lamina::cuda
