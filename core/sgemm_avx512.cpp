// The classic blocked GEMM (Goto; BLIS's loop order): a KC x NC block of B is packed into NR-column panels, and
// the microkernel multiplies MR rows of A by one B panel into an MR x NR tile of C held in registers. The B panel
// (KC x NR, 48 KiB) stays in L1 while the rows of A stream past it from L2. A row-major A is read in place, MR
// rows at a time, each a sequential stream; only an A strided along k (a transposed view) is packed into MR-row
// panels first. Packing a row-major A too cost more than it saved here (ResNet-18 stage 4's forward GEMM: 65
// against 126 GFLOP/s), most where its rows serve few B panels. Packed panels are padded with zeros, and read in
// place the rows past A's edge repeat its last row, so the microkernel always runs full; it stores only the rows
// and columns that exist. This file alone is compiled with -mavx512f (core/CMakeLists.txt) and is called only
// where has_avx512() says the processor has it.
#include <lamina/core/sgemm_avx512.h>

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <lamina/core/parallel.h>

namespace lamina::cpu {

namespace {

// An 8 x 32 tile is 16 accumulators, enough independent FMAs to keep both FMA units busy; 12 and 14 rows
// measured no faster here.
constexpr std::int64_t kMR = 8, kNR = 32, kKC = 384, kMC = kMR * 16, kNC = kNR * 64;

// C tile (rows x the columns `last` and the vectors before it) = alpha · (A's kMR rows · B panel), added to C when
// `accumulate`. The rows of A are a packed panel (element (i, p) at a[p·kMR + i]) when kPacked, else rows of A
// itself, a_rs apart and contiguous along k (rows past the edge repeat the last one; their products are not
// stored). NV is the number of 16-float vectors in the tile's width: 2, or 1 for a last panel of at most 16 columns.
template <int NV, bool kPacked>
void microkernel(std::int64_t kc, const float* a, std::int64_t a_rs, const float* __restrict bp, float* c,
                 std::int64_t ldc, float alpha, bool accumulate, std::int64_t rows, __mmask16 last) {
  const float* a_rows[kMR];
  for (int i = 0; i < kMR; ++i) a_rows[i] = a + std::min<std::int64_t>(i, rows - 1) * a_rs;
  __m512 acc[kMR][NV];
  for (int i = 0; i < kMR; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
  for (std::int64_t i = 0; i < rows; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
  for (std::int64_t p = 0; p < kc; ++p) {
    __m512 b[NV];
    for (int v = 0; v < NV; ++v) b[v] = _mm512_load_ps(bp + 16 * v);
#pragma GCC unroll 8
    for (int i = 0; i < kMR; ++i) {
      const __m512 ai = _mm512_set1_ps(kPacked ? a[p * kMR + i] : a_rows[i][p]);
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, b[v], acc[i][v]);
    }
    bp += 16 * NV;
  }
  const __m512 va = _mm512_set1_ps(alpha);
  for (std::int64_t i = 0; i < rows; ++i) {
    float* row = c + i * ldc;
    for (int v = 0; v < NV; ++v) {
      const __mmask16 columns = v == NV - 1 ? last : __mmask16{0xFFFF};
      const __m512 old = accumulate ? _mm512_maskz_loadu_ps(columns, row + 16 * v) : _mm512_setzero_ps();
      _mm512_mask_storeu_ps(row + 16 * v, columns, _mm512_fmadd_ps(va, acc[i][v], old));
    }
  }
}

// A block [mc, kc] into panels of kMR rows, each stored k-major: panel[p·kMR + i] = A (i, p).
void pack_a(std::int64_t mc, std::int64_t kc, const float* a, std::int64_t rs, std::int64_t cs, float* dst) {
  for (std::int64_t i0 = 0; i0 < mc; i0 += kMR, dst += kc * kMR) {
    const std::int64_t rows = std::min(kMR, mc - i0);
    for (std::int64_t p = 0; p < kc; ++p) {
      for (std::int64_t i = 0; i < rows; ++i) dst[p * kMR + i] = a[(i0 + i) * rs + p * cs];
      for (std::int64_t i = rows; i < kMR; ++i) dst[p * kMR + i] = 0;
    }
  }
}

// B block [kc, nc] into panels of kNR columns (the last one 16 wide if it has at most 16), each stored k-major.
void pack_b(std::int64_t kc, std::int64_t nc, const float* b, std::int64_t rs, std::int64_t cs, float* dst) {
  for (std::int64_t j0 = 0; j0 < nc; j0 += kNR, dst += kc * kNR) {
    const std::int64_t cols = std::min(kNR, nc - j0), width = cols > 16 ? kNR : 16;
    for (std::int64_t p = 0; p < kc; ++p) {
      const float* src = b + p * rs + j0 * cs;
      float* out = dst + p * width;
      if (cs == 1 && cols == width) {
        std::memcpy(out, src, static_cast<std::size_t>(width) * sizeof(float));
        continue;
      }
      for (std::int64_t j = 0; j < cols; ++j) out[j] = src[j * cs];
      for (std::int64_t j = cols; j < width; ++j) out[j] = 0;
    }
  }
}

void scale_rows(std::int64_t m, std::int64_t n, float beta, float* c, std::int64_t ldc) {
  if (beta == 1) return;
  for (std::int64_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    if (beta == 0) std::fill(row, row + n, 0.0f);
    else
      for (std::int64_t j = 0; j < n; ++j) row[j] *= beta;
  }
}

// Packing buffers, 64-byte aligned for the microkernel's aligned loads, kept per calling thread across calls (they
// only grow).
float* aligned_buffer(std::vector<float>& storage, std::int64_t floats) {
  storage.resize(std::max(storage.size(), static_cast<std::size_t>(floats) + 16));
  const auto address = reinterpret_cast<std::uintptr_t>(storage.data());
  return reinterpret_cast<float*>((address + 63) & ~std::uintptr_t{63});
}

}  // namespace

bool has_avx512() {
  static const bool supported = __builtin_cpu_supports("avx512f");
  return supported;
}

void sgemm_avx512(std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a, std::int64_t a_rs,
                  std::int64_t a_cs, const float* b, std::int64_t b_rs, std::int64_t b_cs, float beta, float* c,
                  std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == 0) {
    scale_rows(m, n, beta, c, ldc);
    return;
  }
  // The first block of k stores over C when beta = 0 (C is not read: NaN there does not survive), and adds to C
  // scaled by beta otherwise.
  if (beta != 0) scale_rows(m, n, beta, c, ldc);
  thread_local std::vector<float> a_storage, b_storage;
  const std::int64_t kc_max = std::min(k, kKC), mc_max = std::min(m, kMC), nc_max = std::min(n, kNC);
  float* const a_packed = aligned_buffer(a_storage, (mc_max + kMR - 1) / kMR * kMR * kc_max);
  float* const b_packed = aligned_buffer(b_storage, (nc_max + kNR - 1) / kNR * kNR * kc_max);
  // Threads split the B panels of each block; small products stay on one thread, where waking the pool costs more.
  const bool parallel = num_threads() > 1 && !omp_in_parallel() && m * n * k >= std::int64_t{1} << 21;
#pragma omp parallel if (parallel)
  for (std::int64_t jc = 0; jc < n; jc += kNC) {
    const std::int64_t nc = std::min(kNC, n - jc);
    for (std::int64_t pc = 0; pc < k; pc += kKC) {
      const std::int64_t kc = std::min(kKC, k - pc);
      const bool accumulate = pc > 0 || beta != 0;
#pragma omp single
      pack_b(kc, nc, b + pc * b_rs + jc * b_cs, b_rs, b_cs, b_packed);
      for (std::int64_t ic = 0; ic < m; ic += kMC) {
        const std::int64_t mc = std::min(kMC, m - ic);
        const float* a_block = a + ic * a_rs + pc * a_cs;
        const bool packed = a_cs != 1;
        if (packed) {
#pragma omp single
          pack_a(mc, kc, a_block, a_rs, a_cs, a_packed);
        }
#pragma omp for schedule(static)
        for (std::int64_t jr = 0; jr < nc; jr += kNR) {
          const std::int64_t cols = std::min(kNR, nc - jr);
          const auto last = static_cast<__mmask16>((1u << ((cols - 1) % 16 + 1)) - 1);
          for (std::int64_t ir = 0; ir < mc; ir += kMR) {
            const std::int64_t rows = std::min(kMR, mc - ir);
            float* tile = c + (ic + ir) * ldc + jc + jr;
            const float* bp = b_packed + jr * kc;
            if (packed) {
              const float* panel = a_packed + ir * kc;
              if (cols > 16) microkernel<2, true>(kc, panel, 1, bp, tile, ldc, alpha, accumulate, rows, last);
              else microkernel<1, true>(kc, panel, 1, bp, tile, ldc, alpha, accumulate, rows, last);
            } else {
              const float* rows_of_a = a_block + ir * a_rs;
              if (cols > 16) microkernel<2, false>(kc, rows_of_a, a_rs, bp, tile, ldc, alpha, accumulate, rows, last);
              else microkernel<1, false>(kc, rows_of_a, a_rs, bp, tile, ldc, alpha, accumulate, rows, last);
            }
          }
        }
      }
    }
  }
}

}  // namespace lamina::cpu
