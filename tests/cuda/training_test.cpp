// A module moved to the GPU trains like its CPU twin (the DeviceTraining suite of tests/nn/device_training.h):
// Module::to moves parameters, buffers and gradients, and autograd and the optimizers run unchanged on CUDA tensors.
#include "cuda_test.h"
#include "nn/device_training.h"

namespace lamina::testing {
INSTANTIATE_TYPED_TEST_SUITE_P(Cuda, DeviceTraining, CudaTest);
}  // namespace lamina::testing
