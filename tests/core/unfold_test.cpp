// unfold (im2col as an op): the values, its gradient (col2im), and the GPU's convolution built on it against the
// CPU's direct and im2col kernels.
#include <gtest/gtest.h>

#include <lamina/core/unfold.h>
#include <lamina/lamina.h>

#include "expect.h"
#include "gradcheck.h"

using namespace lamina;
using lamina::testing::gradcheck;
using lamina::testing::kGradTolerance;
using lamina::testing::leaf;

namespace {

kernels::ConvGeometry geometry(std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t k, std::int64_t stride,
                               std::int64_t pad, std::int64_t dilation) {
  kernels::ConvGeometry g{c, h, w, k, k, stride, stride, pad, pad, dilation, dilation, 0, 0};
  g.out_h = kernels::conv_out_size(h, k, stride, pad, dilation);
  g.out_w = kernels::conv_out_size(w, k, stride, pad, dilation);
  return g;
}

}  // namespace

TEST(Unfold, ColumnsHoldEachWindowWithThePaddingValue) {
  // One 3x3 plane, 2x2 windows, padding 1, stride 2: outputs (0,0) (0,1) (1,0) (1,1) read rows {-1, 0} / {1, 2}
  // and columns {-1, 0} / {1, 2}.
  const Tensor x = arange(1, 10).reshape({1, 1, 3, 3});
  const Tensor col = unfold(x, geometry(1, 3, 3, 2, 2, 1, 1), -5.0);
  EXPECT_EQ(col.shape(), (Shape{4, 4}));
  // Row (i, j) = kernel position; column = output (oh, ow).
  EXPECT_EQ(col.to_vector<float>(), (std::vector<float>{-5, -5, -5, 5,     // (0, 0): x[2oh-1, 2ow-1]
                                                         -5, -5, 4, 6,     // (0, 1): x[2oh-1, 2ow]
                                                         -5, 2, -5, 8,     // (1, 0): x[2oh, 2ow-1]
                                                         1, 3, 7, 9}));    // (1, 1): x[2oh, 2ow]
}

TEST(UnfoldGradCheck, StridePaddingDilationAndABatch) {
  const kernels::ConvGeometry g = geometry(2, 6, 5, 3, 2, 1, 2);
  EXPECT_LT(gradcheck([g](auto& v) { return unfold(v[0], g); }, {leaf({3, 2, 6, 5}, 1)}), kGradTolerance);
}

TEST(Unfold, AGemmOverItsColumnsIsTheConvolution) {
  const Tensor x = randn({3, 2, 9, 8}, {.dtype = DType::Float64}), w = randn({4, 2, 3, 3}, {.dtype = DType::Float64});
  const kernels::ConvGeometry g = geometry(2, 9, 8, 3, 2, 1, 1);
  const Tensor via_unfold = matmul(w.reshape({4, -1}), unfold(x, g)).view({4, g.out_h, g.out_w, 3}).permute({3, 0, 1, 2});
  lamina::testing::expect_near(via_unfold.to_vector<double>(), conv2d(x, w, Tensor(), {.stride = 2, .padding = 1}).to_vector<double>());
}

TEST(Unfold, RejectsAnInputOfAnotherGeometry) {
  lamina::testing::expect_contains(
      lamina::testing::message_of<std::invalid_argument>([] { unfold(zeros({1, 3, 4, 4}), geometry(2, 4, 4, 2, 1, 0, 1)); }),
      {"unfold: input float32 [1, 3, 4, 4] does not match the geometry's 2 channels of 4x4"});
}
