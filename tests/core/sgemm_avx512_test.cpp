#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <lamina/core/parallel.h>
#include <lamina/core/sgemm_avx512.h>

namespace {

using lamina::cpu::has_avx512;
using lamina::cpu::sgemm_avx512;

// An operand of `rows` x `cols` laid out with the given strides in a buffer of random values.
struct Operand {
  std::int64_t rows, cols, row_stride, col_stride;
  std::vector<float> data;
  float at(std::int64_t i, std::int64_t j) const { return data[i * row_stride + j * col_stride]; }
};

enum class Layout { RowMajor, Transposed, Padded };

Operand make_operand(std::int64_t rows, std::int64_t cols, Layout layout, std::mt19937& gen) {
  Operand o{rows, cols, cols, 1, {}};
  if (layout == Layout::Transposed) o.row_stride = 1, o.col_stride = rows;
  if (layout == Layout::Padded) o.row_stride = cols + 5;  // a column slice of a wider matrix
  o.data.resize(static_cast<std::size_t>(rows * o.row_stride + cols * o.col_stride));
  std::uniform_real_distribution<float> value(-1, 1);
  for (float& x : o.data) x = value(gen);
  return o;
}

struct Case {
  std::int64_t m, n, k;
  Layout a_layout, b_layout;
  float alpha, beta;
};

// Checks C = alpha·A·B + beta·C against a float64 product, element by element, within the bound of float32
// summation: k ulps of the sum of |products| (a wrong element is off by far more).
void expect_matches_float64(const Case& c, std::mt19937& gen) {
  const Operand a = make_operand(c.m, c.k, c.a_layout, gen), b = make_operand(c.k, c.n, c.b_layout, gen);
  std::vector<float> out(static_cast<std::size_t>(c.m * c.n));
  std::uniform_real_distribution<float> value(-1, 1);
  for (float& x : out) x = c.beta == 0 ? std::numeric_limits<float>::quiet_NaN() : value(gen);
  const std::vector<float> before = out;
  sgemm_avx512(c.m, c.n, c.k, c.alpha, a.data.data(), a.row_stride, a.col_stride, b.data.data(), b.row_stride,
               b.col_stride, c.beta, out.data(), c.n);
  const double ulp = std::ldexp(1.0, -23);
  for (std::int64_t i = 0; i < c.m; ++i)
    for (std::int64_t j = 0; j < c.n; ++j) {
      double sum = 0, magnitude = 0;
      for (std::int64_t p = 0; p < c.k; ++p) {
        sum += static_cast<double>(a.at(i, p)) * b.at(p, j);
        magnitude += std::abs(static_cast<double>(a.at(i, p)) * b.at(p, j));
      }
      const double old = c.beta == 0 ? 0.0 : c.beta * static_cast<double>(before[i * c.n + j]);
      const double expected = c.alpha * sum + old;
      const double tolerance = (static_cast<double>(c.k) + 2) * ulp * (std::abs(c.alpha) * magnitude + std::abs(old));
      ASSERT_NEAR(out[i * c.n + j], expected, tolerance)
          << "C(" << i << ", " << j << ") of " << c.m << "x" << c.k << " · " << c.k << "x" << c.n;
    }
}

TEST(SgemmAvx512, MatchesFloat64AtEdgesBlocksAndEveryLayout) {
  if (!has_avx512()) GTEST_SKIP() << "this processor has no AVX-512F: lamina multiplies float32 with OpenBLAS";
  std::mt19937 gen(7);
  const std::vector<Case> cases = {
      {1, 1, 1, Layout::RowMajor, Layout::RowMajor, 1, 0},
      {3, 5, 0, Layout::RowMajor, Layout::RowMajor, 1, 0.5f},       // k = 0: C = beta·C
      {8, 32, 16, Layout::RowMajor, Layout::RowMajor, 1, 0},        // exactly one tile
      {9, 33, 17, Layout::RowMajor, Layout::RowMajor, 1, 1},        // one row and one column past a tile
      {7, 16, 5, Layout::Transposed, Layout::RowMajor, -2, 1},      // a last panel of exactly 16 columns
      {13, 47, 31, Layout::RowMajor, Layout::Transposed, 0.5f, -0.5f},
      {20, 10, 50, Layout::Transposed, Layout::Transposed, 1, 0},
      {17, 40, 23, Layout::Padded, Layout::Padded, 1, 1},
      {129, 70, 385, Layout::RowMajor, Layout::RowMajor, 1, 0},     // past one block of rows and of k
      {20, 2048 + 37, 9, Layout::RowMajor, Layout::Transposed, 1, 0},  // past one block of columns
      // Thin products (at most 32 columns) past one block of k, A read in place (row-major, padded) and packed
      // (transposed); every case above also runs one of the two.
      {13, 20, 30, Layout::Padded, Layout::RowMajor, 1, 0},
      {30, 12, 800, Layout::RowMajor, Layout::RowMajor, 1, 0},
      {11, 25, 400, Layout::Transposed, Layout::Padded, 0.5f, -0.5f},
  };
  for (const Case& c : cases) expect_matches_float64(c, gen);
}

TEST(SgemmAvx512, AlphaZeroOnlyScalesC) {
  if (!has_avx512()) GTEST_SKIP() << "this processor has no AVX-512F: lamina multiplies float32 with OpenBLAS";
  const std::vector<float> a(6, std::numeric_limits<float>::quiet_NaN()), b(6, 1.0f);
  std::vector<float> c = {1, 2, 3, 4};
  sgemm_avx512(2, 2, 3, 0.0f, a.data(), 3, 1, b.data(), 2, 1, 2.0f, c.data(), 2);
  EXPECT_EQ(c, (std::vector<float>{2, 4, 6, 8}));
}

// Threads split the tiles, and each tile's sum runs in the same order on any thread: the bits cannot change.
TEST(SgemmAvx512, TwoThreadsGiveTheBitsOfOne) {
  if (!has_avx512()) GTEST_SKIP() << "this processor has no AVX-512F: lamina multiplies float32 with OpenBLAS";
  std::mt19937 gen(3);
  const std::int64_t m = 150, n = 260, k = 400;
  const Operand a = make_operand(m, k, Layout::RowMajor, gen), b = make_operand(k, n, Layout::Transposed, gen);
  const int threads_before = lamina::num_threads();
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2}) {
    lamina::set_num_threads(threads);
    std::vector<float> c(static_cast<std::size_t>(m * n));
    sgemm_avx512(m, n, k, 1.0f, a.data.data(), a.row_stride, a.col_stride, b.data.data(), b.row_stride, b.col_stride,
                 0.0f, c.data(), n);
    results.push_back(c);
  }
  lamina::set_num_threads(threads_before);
  EXPECT_EQ(results[0], results[1]);
}

// Inside a parallel region (conv2d's blocks) each thread multiplies on its own, with its own packing buffers.
TEST(SgemmAvx512, CallsFromParallelThreadsAreIndependent) {
  if (!has_avx512()) GTEST_SKIP() << "this processor has no AVX-512F: lamina multiplies float32 with OpenBLAS";
  std::mt19937 gen(5);
  const std::int64_t m = 64, n = 200, k = 300;
  const Operand a = make_operand(m, k, Layout::RowMajor, gen), b = make_operand(k, n, Layout::RowMajor, gen);
  std::vector<float> alone(static_cast<std::size_t>(m * n));
  sgemm_avx512(m, n, k, 1.0f, a.data.data(), a.row_stride, 1, b.data.data(), b.row_stride, 1, 0.0f, alone.data(), n);
  std::vector<std::vector<float>> per_thread(2, std::vector<float>(static_cast<std::size_t>(m * n)));
#pragma omp parallel for num_threads(2)
  for (int t = 0; t < 2; ++t)
    sgemm_avx512(m, n, k, 1.0f, a.data.data(), a.row_stride, 1, b.data.data(), b.row_stride, 1, 0.0f,
                 per_thread[static_cast<std::size_t>(t)].data(), n);
  EXPECT_EQ(per_thread[0], alone);
  EXPECT_EQ(per_thread[1], alone);
}

}  // namespace
