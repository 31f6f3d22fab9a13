#pragma once
// A block of bytes on one device, shared by every tensor that views it.
#include <cstddef>
#include <memory>

#include <lamina/core/device.h>

namespace lamina {

class Storage {
 public:
  Storage() = default;
  // Allocates `nbytes` on `device` (host memory comes from the caching allocator).
  Storage(std::size_t nbytes, Device device);
  // Wraps memory owned elsewhere; `owner` keeps it alive and frees it.
  Storage(std::shared_ptr<void> owner, std::size_t nbytes, Device device);
  // Page-locked host memory from the CUDA backend: copies between it and a device run at the bus's full speed
  // (pageable memory is staged through a driver buffer first).
  static Storage pinned(std::size_t nbytes);

  void* data() const { return data_.get(); }
  std::size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  long use_count() const { return data_.use_count(); }
  bool is_pinned() const { return pinned_; }

 private:
  std::shared_ptr<void> data_;
  std::size_t nbytes_ = 0;
  Device device_;
  bool pinned_ = false;
};

// Device memory is provided by a backend that registers itself (the CUDA library does, when it is linked), so that
// core itself never depends on a GPU runtime.
struct DeviceBackend {
  virtual ~DeviceBackend() = default;
  virtual void* allocate(std::size_t nbytes, int device_index) = 0;
  virtual void deallocate(void* ptr, std::size_t nbytes, int device_index) = 0;
  // Copies between host and device or within a device; `src`/`dst` devices say which.
  virtual void copy(void* dst, Device dst_device, const void* src, Device src_device, std::size_t nbytes) = 0;
  virtual void* allocate_pinned(std::size_t nbytes) = 0;
  virtual void deallocate_pinned(void* ptr) = 0;
};
void register_cuda_backend(DeviceBackend* backend);
// The registered CUDA backend; throws naming the device when none is registered.
DeviceBackend& cuda_backend(Device device);

}  // namespace lamina
