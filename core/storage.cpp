#include <lamina/core/storage.h>

#include <stdexcept>

#include <lamina/core/allocator.h>

namespace lamina {
namespace {
DeviceBackend* g_cuda_backend = nullptr;
}

void register_cuda_backend(DeviceBackend* backend) { g_cuda_backend = backend; }

DeviceBackend& cuda_backend(Device device) {
  if (g_cuda_backend == nullptr)
    throw std::runtime_error("no CUDA backend for " + device.str() +
                             ": lamina was built without CUDA or lamina::cuda is not linked");
  return *g_cuda_backend;
}

Storage::Storage(std::size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  if (device.is_cpu()) {
    void* p = CachingHostAllocator::instance().allocate(nbytes);
    data_ = std::shared_ptr<void>(p, [nbytes](void* q) { CachingHostAllocator::instance().deallocate(q, nbytes); });
  } else {
    DeviceBackend& backend = cuda_backend(device);
    void* p = backend.allocate(nbytes, device.index);
    data_ = std::shared_ptr<void>(p, [&backend, nbytes, device](void* q) { backend.deallocate(q, nbytes, device.index); });
  }
}

Storage Storage::pinned(std::size_t nbytes) {
  DeviceBackend& backend = cuda_backend(Device::cuda());
  Storage s;
  s.data_ = std::shared_ptr<void>(backend.allocate_pinned(nbytes), [&backend](void* q) { backend.deallocate_pinned(q); });
  s.nbytes_ = nbytes;
  s.pinned_ = true;
  return s;
}

Storage::Storage(std::shared_ptr<void> owner, std::size_t nbytes, Device device)
    : data_(std::move(owner)), nbytes_(nbytes), device_(device) {}

}  // namespace lamina
