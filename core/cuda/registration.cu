// Linking lamina::cuda registers its allocator and kernels with core before main() runs. The library is static,
// so the linker would drop this object (nothing refers to it); lamina::cuda's link interface names its anchor
// symbol as undefined (-Wl,--undefined=lamina_cuda_registration), which pulls it in, and with it every kernel.
// Nothing here calls CUDA: a machine without a GPU loads the program and finds out at the first CUDA tensor.
#include <lamina/core/cuda/kernels.h>

extern "C" {
int lamina_cuda_registration = 0;
}

namespace lamina::cuda {
namespace {

struct Registration {
  Registration() {
    register_backend();
    CudaKernels k;
    register_elementwise_kernels(k);
    register_reduction_kernels(k);
    register_softmax_kernels(k);
    register_blas_kernels(k);
    register_indexing_kernels(k);
    register_unfold_kernels(k);
    register_pooling_kernels(k);
    register_cuda_kernels(k);
  }
};
const Registration registration;

}  // namespace
}  // namespace lamina::cuda
