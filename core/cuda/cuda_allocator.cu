#include <lamina/core/cuda/cuda_allocator.h>

#include <memory>
#include <mutex>
#include <vector>

#include <lamina/core/block_cache.h>
#include <lamina/core/cuda/kernels.h>
#include <lamina/core/cuda/launch.h>
#include <lamina/core/storage.h>

namespace lamina::cuda {
namespace {

thread_local cudaStream_t g_current_stream = nullptr;

std::string device_memory_description(int device) {
  std::size_t free = 0, total = 0;
  DeviceGuard guard(device);
  if (cudaMemGetInfo(&free, &total) != cudaSuccess) {
    cudaGetLastError();
    return "cudaMemGetInfo failed";
  }
  return format_bytes(total - free) + " of " + format_bytes(total) + " in use by all processes";
}

// cudaMalloc'd segments, carved by a BlockCache. Host memory for pinned buffers comes from cudaHostAlloc, cached
// the same way (page-locking is slower still than cudaMalloc).
class CudaBackend : public DeviceBackend {
 public:
  void* allocate(std::size_t nbytes, int device) override {
    BlockCache& c = cache(device);  // first: it says clearly when the device does not exist
    DeviceGuard guard(device);
    return c.allocate(nbytes, current_stream());
  }
  void deallocate(void* ptr, std::size_t, int device) override { cache(device).deallocate(ptr); }

  void copy(void* dst, Device dst_device, const void* src, Device src_device, std::size_t nbytes) override {
    if (nbytes == 0) return;
    const Device device = dst_device.is_cuda() ? dst_device : src_device;
    DeviceGuard guard(device.index);
    // cudaMemcpyDefault: unified addressing tells host from device pointers, and copies between two devices too.
    check(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDefault, current_stream()), "cudaMemcpyAsync");
    // A host buffer may be read or freed as soon as copy() returns: wait for copies that touch one.
    if (dst_device.is_cpu() || src_device.is_cpu())
      check(cudaStreamSynchronize(current_stream()), "cudaStreamSynchronize after a copy");
  }

  void* allocate_pinned(std::size_t nbytes) override { return pinned().allocate(nbytes, nullptr); }
  void deallocate_pinned(void* ptr) override { pinned().deallocate(ptr); }

  BlockCache& cache(int device) {
    std::lock_guard lock(mutex_);
    if (caches_.empty()) caches_.resize(device_count());
    if (device < 0 || device >= static_cast<int>(caches_.size())) require_device(device, "allocate");
    if (!caches_[device]) {
      BlockCache::System system{
          [device](std::size_t n) -> void* {
            DeviceGuard guard(device);
            void* p = nullptr;
            if (cudaMalloc(&p, n) != cudaSuccess) {
              cudaGetLastError();  // out of memory is reported by the cache, with what it holds
              return nullptr;
            }
            return p;
          },
          [device](void* p) {
            DeviceGuard guard(device);
            // A segment is only returned when nothing in it is in use, but kernels reading it may still be queued.
            cudaDeviceSynchronize();
            cudaFree(p);
          },
          [device] { return device_memory_description(device); }};
      caches_[device] = std::make_unique<BlockCache>(std::move(system), Device::cuda(device).str());
    }
    return *caches_[device];
  }

  void empty_cache() {
    std::lock_guard lock(mutex_);
    for (auto& c : caches_)
      if (c) c->release_cached();
    if (pinned_) pinned_->release_cached();
  }

 private:
  BlockCache& pinned() {
    std::lock_guard lock(mutex_);
    if (!pinned_) {
      require_device(0, "pinned host memory");  // page-locking needs the driver
      BlockCache::System system{
          [](std::size_t n) -> void* {
            void* p = nullptr;
            if (cudaHostAlloc(&p, n, cudaHostAllocPortable) != cudaSuccess) {
              cudaGetLastError();
              return nullptr;
            }
            return p;
          },
          [](void* p) { cudaFreeHost(p); },
          {}};
      pinned_ = std::make_unique<BlockCache>(std::move(system), "pinned host memory");
    }
    return *pinned_;
  }

  std::mutex mutex_;
  std::vector<std::unique_ptr<BlockCache>> caches_;
  std::unique_ptr<BlockCache> pinned_;
};

CudaBackend& backend() {
  // Never destroyed: tensors held by static objects may be freed after main returns.
  static CudaBackend* b = new CudaBackend;
  return *b;
}

}  // namespace

cudaStream_t current_stream() { return g_current_stream; }
void set_current_stream(void* stream) { g_current_stream = static_cast<cudaStream_t>(stream); }

int device_count(std::string* reason) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear it, so that it is not reported by the next unrelated call
    if (reason) *reason = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
    return 0;
  }
  if (count == 0 && reason) *reason = "no CUDA device found";
  return count;
}

void require_device(int device, const char* what) {
  std::string reason;
  const int count = device_count(&reason);
  if (count == 0) throw std::runtime_error(std::string(what) + " on cuda:" + std::to_string(device) + ": no usable CUDA device (" + reason + ")");
  if (device < 0 || device >= count)
    throw std::runtime_error(std::string(what) + " on cuda:" + std::to_string(device) + ": this machine has " +
                             std::to_string(count) + " CUDA device(s)");
}

AllocatorStats memory_stats(int device) { return backend().cache(device).stats(); }
void empty_cache() { backend().empty_cache(); }

void synchronize(int device) {
  DeviceGuard guard(device);
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
}

void register_backend() { register_cuda_backend(&backend()); }

}  // namespace lamina::cuda
