#pragma once
// The DeviceOps test suite over the cases of device_op_cases.h, for a fixture `Env` with a static `device` that
// skips where it cannot run: instantiated on a GPU by tests/cuda and on the stand-in CUDA device by tests/core.
#include "device_op_cases.h"

namespace lamina::testing {

template <typename Env> class DeviceOps : public Env {};
TYPED_TEST_SUITE_P(DeviceOps);

TYPED_TEST_P(DeviceOps, EveryOpMatchesTheCpuForwardAndBackward) {
  manual_seed(7);
  for (const OpCase& c : device_op_cases()) {
    SCOPED_TRACE(c.name);
    run_case(c, TestFixture::device);
  }
}
TYPED_TEST_P(DeviceOps, BatchNormRunningStatistics) { check_batch_norm_running_statistics(TestFixture::device); }
TYPED_TEST_P(DeviceOps, CrossEntropy) { check_cross_entropy(TestFixture::device); }
TYPED_TEST_P(DeviceOps, ArgmaxAndEmbedding) { check_argmax_and_embedding(TestFixture::device); }
TYPED_TEST_P(DeviceOps, DropoutMasksAreBitIdenticalToTheCpus) { check_dropout_masks(TestFixture::device); }
TYPED_TEST_P(DeviceOps, CopiesConvertDtypesAndFillsWriteStridedViews) { check_copies_and_fills(TestFixture::device); }

TYPED_TEST_P(DeviceOps, AnOpWithoutACudaKernelNamesTheOpAndDevice) {
  const Tensor a = randn({4, 3}).to(TestFixture::device);
  try {
    where(gt(a, a), a, a);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("where: no CUDA kernel for cuda:0 tensors (float32 [4, 3] on cuda:0)"),
              std::string::npos) << e.what();
  }
}

REGISTER_TYPED_TEST_SUITE_P(DeviceOps, EveryOpMatchesTheCpuForwardAndBackward, BatchNormRunningStatistics, CrossEntropy,
                            ArgmaxAndEmbedding, DropoutMasksAreBitIdenticalToTheCpus,
                            CopiesConvertDtypesAndFillsWriteStridedViews, AnOpWithoutACudaKernelNamesTheOpAndDevice);

}  // namespace lamina::testing
