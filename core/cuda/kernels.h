#pragma once
// Each CUDA source fills its entries of core's kernel table (core/cuda_kernels.h); registration.cu calls them all
// when lamina::cuda is loaded. Included by .cu files only.
#include <lamina/core/cuda_kernels.h>

namespace lamina::cuda {

void register_elementwise_kernels(CudaKernels& k);
void register_reduction_kernels(CudaKernels& k);
void register_softmax_kernels(CudaKernels& k);
void register_blas_kernels(CudaKernels& k);
void register_indexing_kernels(CudaKernels& k);
void register_unfold_kernels(CudaKernels& k);
void register_pooling_kernels(CudaKernels& k);
// Registers the caching allocator as core's DeviceBackend (cuda_allocator.cu).
void register_backend();

}  // namespace lamina::cuda
