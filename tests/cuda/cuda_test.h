#pragma once
// The GPU suite's fixture and comparisons. Every test skips, with CUDA's reason, where no device is usable.
#include <gtest/gtest.h>

#include <string>

#include <lamina/core/cuda/cuda_allocator.h>
#include <lamina/lamina.h>

#include "core/device_op_cases.h"

namespace lamina::testing {

class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string reason;
    if (cuda::device_count(&reason) == 0) GTEST_SKIP() << "no usable CUDA device: " << reason;
  }
  static constexpr Device device = Device{Device::Type::CUDA, 0};
  static constexpr double training_rtol = 1e-3;  // five steps of float32 training, reassociated sums
};

}  // namespace lamina::testing
