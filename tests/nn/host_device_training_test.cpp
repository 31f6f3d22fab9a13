// Module::to(Device::cuda(0)) and training on the CPU's stand-in CUDA device (tests/core/host_device.h): the CUDA
// code paths of Module::to, autograd, convolution, pooling, batch norm and the optimizers (SGD and Adam update with
// tensor ops) reach the CPU's parameters.
#include "core/host_device.h"
#include "nn/device_training.h"

namespace lamina::testing {
INSTANTIATE_TYPED_TEST_SUITE_P(HostDevice, DeviceTraining, HostDeviceTest);
}  // namespace lamina::testing
