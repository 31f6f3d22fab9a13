// GEMM through cuBLAS. cuBLAS is column-major: a row-major C = A · B is computed as Cᵀ = Bᵀ · Aᵀ, and a row-major
// operand is exactly the column-major transpose, so no data moves; transposed views pass the transpose flag
// (as_blas_operand, shared with the CPU's cblas path).
#include <cublas_v2.h>

#include <atomic>
#include <climits>
#include <memory>
#include <mutex>
#include <vector>

#include <lamina/core/cuda/blas.h>
#include <lamina/core/cuda/kernels.h>
#include <lamina/core/cuda/launch.h>
#include <lamina/core/gemm.h>

namespace lamina::cuda {
namespace {

std::atomic<bool> g_allow_tf32{false};

void check_cublas(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string(what) + ": " + cublasGetStatusName(status) + " (" + cublasGetStatusString(status) + ")");
}

// One handle per device, created at its first GEMM (cublasCreate allocates and is slow) and kept for the process.
cublasHandle_t handle(int device) {
  static std::mutex mutex;
  static std::vector<cublasHandle_t> handles;
  std::lock_guard lock(mutex);
  if (static_cast<int>(handles.size()) <= device) handles.resize(device + 1, nullptr);
  if (handles[device] == nullptr) check_cublas(cublasCreate(&handles[device]), "cublasCreate");
  return handles[device];
}

int blas_int(std::int64_t v, const char* what) {
  if (v > INT_MAX) throw std::invalid_argument(std::string("matmul: ") + what + " of " + std::to_string(v) + " exceeds cuBLAS's 32-bit sizes");
  return static_cast<int>(v);
}

void gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta) {
  check_gemm_args(a, b, c);
  const int m = blas_int(a.shape()[0], "rows"), k = blas_int(a.shape()[1], "inner size"), n = blas_int(b.shape()[1], "columns");
  if (m == 0 || n == 0) return;
  DeviceGuard guard(c.device().index);
  cublasHandle_t h = handle(c.device().index);
  check_cublas(cublasSetStream(h, current_stream()), "cublasSetStream");
  check_cublas(cublasSetMathMode(h, g_allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
  const BlasOperand oa = as_blas_operand(a);
  const BlasOperand ob = as_blas_operand(b);
  const cublasOperation_t ta = oa.transposed ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t tb = ob.transposed ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int ldc = std::max(n, 1);
  if (c.dtype() == DType::Float32) {
    const float fa = static_cast<float>(alpha), fb = static_cast<float>(beta);
    check_cublas(cublasSgemm(h, tb, ta, n, m, k, &fa, ob.storage.data<float>(), ob.ld, oa.storage.data<float>(), oa.ld, &fb,
                             c.data<float>(), ldc),
                 "cublasSgemm");
  } else if (c.dtype() == DType::Float64) {
    check_cublas(cublasDgemm(h, tb, ta, n, m, k, &alpha, ob.storage.data<double>(), ob.ld, oa.storage.data<double>(), oa.ld,
                             &beta, c.data<double>(), ldc),
                 "cublasDgemm");
  } else {
    throw std::invalid_argument(std::string("matmul: no CUDA GEMM for dtype ") + dtype_name(c.dtype()));
  }
}

}  // namespace

void set_allow_tf32(bool allow) { g_allow_tf32 = allow; }

void register_blas_kernels(CudaKernels& k) { k.gemm = gemm; }

}  // namespace lamina::cuda
