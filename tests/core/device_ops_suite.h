#pragma once
// The DeviceOps test suite over the cases of device_op_cases.h, for a fixture `Env` with a static `device` that
// skips where it cannot run: instantiated on a GPU by tests/cuda and on the stand-in CUDA device by tests/core.
#include <lamina/core/cuda_kernels.h>

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

TYPED_TEST_P(DeviceOps, SyncBatchNormStatisticsAreReducedOnTheDevice) { check_sync_batch_norm(TestFixture::device); }
TYPED_TEST_P(DeviceOps, DeviceIndicesAreRangeChecked) { check_index_errors(TestFixture::device); }

// Every op of core has an entry now; one taken out of the table shows what a missing entry reports.
TYPED_TEST_P(DeviceOps, AnOpWhoseEntryIsMissingNamesTheOpAndDevice) {
  const CudaKernels registered = registered_cuda_kernels();
  CudaKernels without_where = registered;
  without_where.where = nullptr;
  register_cuda_kernels(without_where);
  const Device device = TestFixture::device;
  const Tensor a = randn({4, 3}).to(device);
  const std::string message = lamina::testing::message_of<std::invalid_argument>([&] { where(gt(a, a), a, a); });
  register_cuda_kernels(registered);
  lamina::testing::expect_contains(message, {"where: no CUDA kernel for cuda:0 tensors (float32 [4, 3] on cuda:0)"});
  EXPECT_EQ(where(gt(a, zeros({}, {.device = device})), a, neg(a)).to_vector<float>(), abs(a).to_vector<float>());
}

REGISTER_TYPED_TEST_SUITE_P(DeviceOps, EveryOpMatchesTheCpuForwardAndBackward, BatchNormRunningStatistics, CrossEntropy,
                            ArgmaxAndEmbedding, DropoutMasksAreBitIdenticalToTheCpus,
                            CopiesConvertDtypesAndFillsWriteStridedViews, SyncBatchNormStatisticsAreReducedOnTheDevice,
                            DeviceIndicesAreRangeChecked, AnOpWhoseEntryIsMissingNamesTheOpAndDevice);

}  // namespace lamina::testing
