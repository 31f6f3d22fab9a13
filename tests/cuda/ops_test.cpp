// Every op with a CUDA kernel, forward and backward, against the CPU at float32 tolerance (the DeviceOps suite of
// tests/core/device_op_cases.h), and GEMM with TF32.
#include <lamina/core/cuda/blas.h>

#include "core/device_ops_suite.h"
#include "cuda_test.h"

using namespace lamina;
using lamina::testing::expect_close;

namespace lamina::testing {
INSTANTIATE_TYPED_TEST_SUITE_P(Cuda, DeviceOps, CudaTest);
}  // namespace lamina::testing

namespace {
class CudaOps : public lamina::testing::CudaTest {};
}  // namespace

TEST_F(CudaOps, GemmWithTf32StaysNearFloat32) {
  const Tensor a = randn({256, 512}), b = randn({512, 128});
  const Tensor exact = matmul(a, b);
  cuda::set_allow_tf32(true);
  const Tensor tf32 = matmul(a.to(device), b.to(device));
  cuda::set_allow_tf32(false);
  // TF32 keeps 10 mantissa bits in the products: relative errors near 1e-3 over a 512-term sum.
  expect_close(tf32, exact, "tf32 matmul", 1e-2, 5e-2);
  expect_close(matmul(a.to(device), b.to(device)), exact, "float32 matmul");
}
