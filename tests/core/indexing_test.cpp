// The index functions of core/indexing.h, which the CUDA kernels of index_select, gather and adaptive pooling run
// per thread and the CPU loops per iteration: checked here against their definitions, element by element.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include <lamina/core/indexing.h>
#include <lamina/lamina.h>

using namespace lamina;
using namespace lamina::kernels;

TEST(Indexing, IndexSelectSourceRows) {
  // x [2, 4, inner] along dim 1 with index {3, 0, 3}: output rows (o, j) come from input rows o*4 + index[j].
  const std::vector<std::int64_t> index = {3, 0, 3};
  const std::vector<std::int64_t> expected = {3, 0, 3, 7, 4, 7};
  for (std::int64_t p = 0; p < 6; ++p) EXPECT_EQ(index_select_source_row(p, index.data(), 3, 4), expected[p]) << p;
}

TEST(Indexing, GatherSourceIsTheInputOffsetOfTheDefinition) {
  // out[i][j][k] = x[i][index[i][j][k]][k] (dim 1) for x [3, 5, 4] read through a permuted view's strides, with an
  // index smaller than x outside dim 1.
  const Tensor x = arange(0, 60, 1, {.dtype = DType::Int64}).reshape({4, 3, 5}).permute({1, 2, 0});  // [3, 5, 4]
  const Shape index_shape = {2, 6, 3};
  std::vector<std::int64_t> index(2 * 6 * 3);
  for (std::size_t p = 0; p < index.size(); ++p) index[p] = static_cast<std::int64_t>((p * 7 + 2) % 5);
  Shape base_strides = x.strides();
  base_strides[1] = 0;
  const GatherGeometry geometry{make_offset_calculator(index_shape, base_strides), x.strides()[1]};
  const std::int64_t* px = x.data<std::int64_t>();
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 6; ++j)
      for (std::int64_t k = 0; k < 3; ++k) {
        const std::int64_t p = (i * 6 + j) * 3 + k;
        const std::int64_t expected = x.select(0, i).select(0, index[p]).select(0, k).item<std::int64_t>();
        EXPECT_EQ(px[geometry.source(index.data(), p)], expected) << i << ", " << j << ", " << k;
      }
}

TEST(Indexing, AdaptiveWindowsArePyTorchs) {
  // 5 positions to 3: [0, 2), [1, 4), [3, 5) (torch.nn.AdaptiveAvgPool1d's start floor(o*5/3), end ceil((o+1)*5/3)).
  const std::vector<Span> expected = {{0, 2}, {1, 4}, {3, 5}};
  for (std::int64_t o = 0; o < 3; ++o) {
    EXPECT_EQ(adaptive_window(o, 5, 3).start, expected[o].start) << o;
    EXPECT_EQ(adaptive_window(o, 5, 3).end, expected[o].end) << o;
  }
  // Upsampling (out > in) repeats positions: 2 to 5.
  EXPECT_EQ(adaptive_window(2, 2, 5).start, 0);
  EXPECT_EQ(adaptive_window(2, 2, 5).end, 2);
}

TEST(Indexing, AdaptiveWindowsHoldingArePreciselyTheWindowsThatHoldEachPosition) {
  for (std::int64_t in = 1; in <= 23; ++in)
    for (std::int64_t out = 1; out <= 23; ++out)
      for (std::int64_t i = 0; i < in; ++i) {
        const Span holding = adaptive_windows_holding(i, in, out);
        for (std::int64_t o = 0; o < out; ++o) {
          const Span w = adaptive_window(o, in, out);
          const bool holds = w.start <= i && i < w.end;
          ASSERT_EQ(holding.start <= o && o < holding.end, holds) << "in " << in << ", out " << out << ", i " << i << ", o " << o;
        }
      }
}

TEST(Indexing, AdaptivePoolElementsAreTheWindowMeansAndTheirAdjoint) {
  // Forward: each output the mean of its window. Backward: each input gradient the sum of the shares of the
  // outputs whose windows hold it, i.e. the scatter of every output's share over its window.
  const std::int64_t planes = 2;
  for (const AdaptivePoolGeometry g : {AdaptivePoolGeometry{5, 7, 3, 4}, AdaptivePoolGeometry{4, 6, 2, 3},
                                       AdaptivePoolGeometry{3, 2, 5, 4}, AdaptivePoolGeometry{6, 6, 1, 1}}) {
    std::vector<double> x(planes * g.height * g.width), grad_out(planes * g.out_h * g.out_w);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37 * static_cast<double>(i) + 0.1);
    for (std::size_t i = 0; i < grad_out.size(); ++i) grad_out[i] = std::cos(0.23 * static_cast<double>(i));
    std::vector<double> scattered(x.size(), 0.0);
    for (std::int64_t p = 0; p < planes; ++p)
      for (std::int64_t oh = 0; oh < g.out_h; ++oh)
        for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
          const Span rows = adaptive_window(oh, g.height, g.out_h), cols = adaptive_window(ow, g.width, g.out_w);
          const double count = static_cast<double>((rows.end - rows.start) * (cols.end - cols.start));
          const std::int64_t k = (p * g.out_h + oh) * g.out_w + ow;
          double sum = 0;
          for (std::int64_t h = rows.start; h < rows.end; ++h)
            for (std::int64_t w = cols.start; w < cols.end; ++w) {
              sum += x[(p * g.height + h) * g.width + w];
              scattered[(p * g.height + h) * g.width + w] += grad_out[k] / count;
            }
          EXPECT_NEAR(adaptive_avg_pool_element(g, x.data(), k), sum / count, 1e-15) << k;
        }
    for (std::size_t k = 0; k < x.size(); ++k)
      EXPECT_NEAR(adaptive_avg_pool_backward_element(g, grad_out.data(), static_cast<std::int64_t>(k)), scattered[k], 1e-14) << k;
  }
}
