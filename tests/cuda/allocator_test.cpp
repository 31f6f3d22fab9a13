// The caching allocator on a real device: repeated steps reuse blocks, statistics, the out-of-memory message,
// pinned buffers and copies both ways.
#include <lamina/core/block_cache.h>

#include "cuda_test.h"

using namespace lamina;

namespace {
class CudaAllocator : public lamina::testing::CudaTest {};
}  // namespace

TEST_F(CudaAllocator, ARepeatedStepTakesNoNewDeviceMemory) {
  auto step = [&] {
    const Tensor a = ones({256, 300}, {.device = device});
    const Tensor b = add(mul(a, 2.0), a);
    return sum(b).item();
  };
  EXPECT_EQ(step(), 3.0 * 256 * 300);
  const AllocatorStats before = cuda::memory_stats(0);
  for (int i = 0; i < 20; ++i) step();
  const AllocatorStats after = cuda::memory_stats(0);
  EXPECT_EQ(after.system_allocs, before.system_allocs);
  EXPECT_EQ(after.reserved, before.reserved);
  EXPECT_EQ(after.allocated, before.allocated);
  EXPECT_GE(after.peak_allocated, 2u * 256 * 300 * 4);
}

TEST_F(CudaAllocator, OutOfMemoryNamesTheRequestAndWhatIsHeld) {
  const Tensor held = zeros({1 << 20}, {.device = device});
  try {
    Tensor::empty({std::int64_t{1} << 50}, {.device = device});  // 4 PiB
    FAIL() << "expected an out-of-memory error";
  } catch (const OutOfMemoryError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("cuda:0 out of memory: tried to allocate 4096.00 TiB"), std::string::npos) << m;
    EXPECT_NE(m.find("lamina holds"), std::string::npos) << m;
    EXPECT_NE(m.find("in use by all processes"), std::string::npos) << m;
  }
  // The device still works afterwards.
  EXPECT_EQ(sum(add(held, 1.0)).item(), double(1 << 20));
}

TEST_F(CudaAllocator, PinnedBatchesRoundTripThroughTheDevice) {
  const Tensor batch = randn({128, 784}).pin_memory();
  EXPECT_TRUE(batch.is_pinned());
  const Tensor on_gpu = batch.to(device);
  EXPECT_EQ(on_gpu.device(), device);
  EXPECT_EQ(on_gpu.to(Device::cpu()).to_vector<float>(), batch.to_vector<float>());
}

TEST_F(CudaAllocator, EmptyCacheReturnsFreeSegments) {
  { const Tensor big = zeros({64 << 20}, {.device = device}); }
  EXPECT_GE(cuda::memory_stats(0).reserved, std::size_t{256} << 20);
  cuda::empty_cache();
  EXPECT_LT(cuda::memory_stats(0).reserved, std::size_t{256} << 20);
}
