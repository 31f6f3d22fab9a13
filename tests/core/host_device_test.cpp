// The ops' CUDA code paths on the CPU's stand-in CUDA device (host_device.h): every case of the GPU suite, with
// the kernel table's entries computing on host memory. What fails here fails on a GPU too, before any kernel.
#include "device_ops_suite.h"
#include "host_device.h"

using namespace lamina;

namespace lamina::testing {
INSTANTIATE_TYPED_TEST_SUITE_P(HostDevice, DeviceOps, HostDeviceTest);
}  // namespace lamina::testing

namespace {
class HostDevice : public lamina::testing::HostDeviceTest {};
}  // namespace

TEST_F(HostDevice, OutputsAndGradientsStayOnTheDevice) {
  Tensor w = randn({4, 3}).to(device).requires_grad_();
  const Tensor loss = sum(relu(matmul(randn({2, 4}).to(device), w)));
  EXPECT_EQ(loss.device(), device);
  loss.backward();
  EXPECT_EQ(w.grad().device(), device);
}

TEST_F(HostDevice, MixingDevicesNamesBoth) {
  const Tensor a = ones({2}).to(device), b = ones({2});
  lamina::testing::expect_contains(lamina::testing::message_of<std::invalid_argument>([&] { add(a, b); }),
                                   {"add: tensors on different devices (float32 [2] on cuda:0 and float32 [2])"});
}
