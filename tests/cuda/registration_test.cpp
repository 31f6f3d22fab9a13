// What linking lamina::cuda does, checked on any machine (these tests need no GPU): the allocator and every kernel
// entry are registered with core, and without a device a CUDA tensor is a clear error rather than a crash.
#include <gtest/gtest.h>

#include <lamina/core/cuda/cuda_allocator.h>
#include <lamina/core/cuda_kernels.h>
#include <lamina/lamina.h>

using namespace lamina;

TEST(CudaRegistration, EveryKernelEntryIsRegistered) {
  const CudaKernels& k = registered_cuda_kernels();
  // A new entry must be registered (core/cuda/registration.cu) and listed here.
  static_assert(sizeof(CudaKernels) == 22 * sizeof(void*), "CudaKernels changed: update this test");
  const void* entries[] = {
      reinterpret_cast<const void*>(k.unary), reinterpret_cast<const void*>(k.binary),
      reinterpret_cast<const void*>(k.copy), reinterpret_cast<const void*>(k.fill),
      reinterpret_cast<const void*>(k.sum), reinterpret_cast<const void*>(k.max),
      reinterpret_cast<const void*>(k.max_backward), reinterpret_cast<const void*>(k.softmax),
      reinterpret_cast<const void*>(k.softmax_backward), reinterpret_cast<const void*>(k.cross_entropy),
      reinterpret_cast<const void*>(k.cross_entropy_backward), reinterpret_cast<const void*>(k.gemm),
      reinterpret_cast<const void*>(k.dropout), reinterpret_cast<const void*>(k.im2col),
      reinterpret_cast<const void*>(k.col2im), reinterpret_cast<const void*>(k.where),
      reinterpret_cast<const void*>(k.index_select), reinterpret_cast<const void*>(k.index_select_backward),
      reinterpret_cast<const void*>(k.gather), reinterpret_cast<const void*>(k.gather_backward),
      reinterpret_cast<const void*>(k.adaptive_avg_pool2d), reinterpret_cast<const void*>(k.adaptive_avg_pool2d_backward)};
  for (std::size_t i = 0; i < std::size(entries); ++i) EXPECT_NE(entries[i], nullptr) << "entry " << i;
}

TEST(CudaRegistration, WithoutADeviceACudaTensorNamesTheReason) {
  std::string reason;
  if (cuda::device_count(&reason) > 0) GTEST_SKIP() << "a CUDA device is present: the error cannot be provoked";
  try {
    Tensor::empty({2}, {.device = Device::cuda(0)});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("allocate on cuda:0: no usable CUDA device (" + reason + ")"), std::string::npos)
        << e.what();
  }
  try {
    ones({2}).pin_memory();
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("pinned host memory on cuda:0: no usable CUDA device"), std::string::npos) << e.what();
  }
}
