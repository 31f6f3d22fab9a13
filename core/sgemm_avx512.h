#pragma once
// lamina's own single-precision GEMM, with AVX-512 kernels. OpenBLAS 0.3.21 (Debian 12) does not recognise this
// class of processor: it falls back to SSE3 kernels unless OPENBLAS_CORETYPE is set, and the machines here preset
// Haswell (AVX2), because older OpenBLAS builds' AVX-512 kernels computed wrong results on them. float32 is what
// training runs on, so lamina multiplies it here where the processor has AVX-512 (1.2-2.0x OpenBLAS's Haswell
// kernels on the MLP's and ResNet-18's GEMMs here, 0.9x on a 10-row product; benchmarks/README.md), and leaves
// float64 and older processors to OpenBLAS. Internal to core.
#include <cstdint>

namespace lamina::cpu {

// Whether this processor runs sgemm_avx512 (AVX-512F).
bool has_avx512();

// C [m, n] (row-major, row stride ldc) = alpha · A · B + beta · C, where A (i, p) = a[i·a_rs + p·a_cs] and
// B (p, j) = b[p·b_rs + j·b_cs]: any strides, so a transposed view is read in place. beta = 0 overwrites C (NaN in C
// does not survive it), as in BLAS. Runs on num_threads() threads unless called inside a parallel region.
void sgemm_avx512(std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a, std::int64_t a_rs,
                  std::int64_t a_cs, const float* b, std::int64_t b_rs, std::int64_t b_cs, float beta, float* c,
                  std::int64_t ldc);

}  // namespace lamina::cpu
