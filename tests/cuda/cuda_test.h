#pragma once
// The GPU suite's fixture and comparisons. Every test skips, with CUDA's reason, where no device is usable.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include <lamina/core/cuda/cuda_allocator.h>
#include <lamina/lamina.h>

namespace lamina::testing {

class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string reason;
    if (cuda::device_count(&reason) == 0) GTEST_SKIP() << "no usable CUDA device: " << reason;
  }
  static constexpr Device gpu = Device{Device::Type::CUDA, 0};
};

// float32 tolerance: the GPU sums in another order and its exp/log differ from glibc's in the last bits.
inline void expect_close(const Tensor& gpu_result, const Tensor& cpu_result, const std::string& what,
                         double rtol = 1e-4, double atol = 1e-5) {
  ASSERT_TRUE(gpu_result.device().is_cuda()) << what;
  ASSERT_EQ(gpu_result.shape(), cpu_result.shape()) << what;
  ASSERT_EQ(gpu_result.dtype(), cpu_result.dtype()) << what;
  const std::vector<double> g = gpu_result.to_vector<double>(), c = cpu_result.to_vector<double>();
  for (std::size_t i = 0; i < g.size(); ++i)
    ASSERT_NEAR(g[i], c[i], atol + rtol * std::abs(c[i])) << what << ", element " << i << " of " << g.size();
}

}  // namespace lamina::testing
