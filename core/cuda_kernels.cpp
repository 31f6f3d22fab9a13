#include <lamina/core/cuda_kernels.h>

#include <stdexcept>

#include <lamina/core/checks.h>

namespace lamina {
namespace {
CudaKernels g_kernels;
}

void register_cuda_kernels(const CudaKernels& kernels) { g_kernels = kernels; }

const CudaKernels& registered_cuda_kernels() { return g_kernels; }

void throw_no_cuda_kernel(const Tensor& t, const char* op) {
  throw std::invalid_argument(std::string(op) + ": no CUDA kernel for " + t.device().str() + " tensors (" + describe(t) +
                              "): lamina was built without CUDA, lamina::cuda is not linked, or the op has no CUDA kernel yet");
}

}  // namespace lamina
