#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include <lamina/core/conv.h>
#include <lamina/core/im2col.h>

#include "core/gradcheck.h"
#include "expect.h"

using namespace lamina;
using lamina::testing::gradcheck;
using lamina::testing::message_of;
using lamina::testing::kGradTolerance;
using lamina::testing::leaf;

namespace {

// sin(a*i + b) for the i-th element: easy to rebuild in PyTorch for reference values.
Tensor seq(const Shape& shape, double a = 0.37, double b = 0.1) {
  std::vector<double> v(shape_numel(shape));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(a * static_cast<double>(i) + b);
  return from_vector<double>(v, shape);
}

// cos(0.23*i): the output weights whose gradients the PyTorch references hold.
Tensor gseq(const Shape& shape) {
  std::vector<double> v(shape_numel(shape));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::cos(0.23 * static_cast<double>(i));
  return from_vector<double>(v, shape);
}

void expect_values(const Tensor& t, const std::vector<double>& expected, double tol, const char* what) {
  const std::vector<double> got = t.to(DType::Float64).to_vector<double>();
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], tol) << what << " element " << i;
}

// Direct 7-loop convolution in double: the definition, to check the im2col + GEMM path against.
std::vector<double> direct_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, IntPair s, IntPair p, IntPair d) {
  const std::vector<double> xv = x.to(DType::Float64).to_vector<double>(), wv = w.to(DType::Float64).to_vector<double>();
  const std::vector<double> bv = b.to(DType::Float64).to_vector<double>();
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  const std::int64_t o = w.size(0), kh = w.size(2), kw = w.size(3);
  const std::int64_t oh = (h + 2 * p.h - d.h * (kh - 1) - 1) / s.h + 1, ow = (wd + 2 * p.w - d.w * (kw - 1) - 1) / s.w + 1;
  std::vector<double> out;
  for (std::int64_t in = 0; in < n; ++in)
    for (std::int64_t io = 0; io < o; ++io)
      for (std::int64_t y = 0; y < oh; ++y)
        for (std::int64_t xo = 0; xo < ow; ++xo) {
          double acc = bv[io];
          for (std::int64_t ic = 0; ic < c; ++ic)
            for (std::int64_t i = 0; i < kh; ++i)
              for (std::int64_t j = 0; j < kw; ++j) {
                const std::int64_t hy = y * s.h - p.h + i * d.h, wx = xo * s.w - p.w + j * d.w;
                if (hy < 0 || hy >= h || wx < 0 || wx >= wd) continue;
                acc += xv[((in * c + ic) * h + hy) * wd + wx] * wv[((io * c + ic) * kh + i) * kw + j];
              }
          out.push_back(acc);
        }
  return out;
}

// The three gradients of the direct definition for output gradient g, in double, in the layouts of x, w and b.
struct ConvGrads {
  std::vector<double> x, w, b;
};
ConvGrads direct_conv2d_grads(const Tensor& x, const Tensor& w, const Tensor& g, IntPair p) {
  const std::vector<double> xv = x.to(DType::Float64).to_vector<double>(), wv = w.to(DType::Float64).to_vector<double>();
  const std::vector<double> gv = g.to(DType::Float64).to_vector<double>();
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  const std::int64_t o = w.size(0), kh = w.size(2), kw = w.size(3), oh = g.size(2), ow = g.size(3);
  ConvGrads r{std::vector<double>(xv.size()), std::vector<double>(wv.size()), std::vector<double>(o)};
  for (std::int64_t in = 0; in < n; ++in)
    for (std::int64_t io = 0; io < o; ++io)
      for (std::int64_t y = 0; y < oh; ++y)
        for (std::int64_t xo = 0; xo < ow; ++xo) {
          const double go = gv[((in * o + io) * oh + y) * ow + xo];
          r.b[io] += go;
          for (std::int64_t ic = 0; ic < c; ++ic)
            for (std::int64_t i = 0; i < kh; ++i)
              for (std::int64_t j = 0; j < kw; ++j) {
                const std::int64_t hy = y - p.h + i, wx = xo - p.w + j;
                if (hy < 0 || hy >= h || wx < 0 || wx >= wd) continue;
                const std::int64_t xi = ((in * c + ic) * h + hy) * wd + wx, wi = ((io * c + ic) * kh + i) * kw + j;
                r.x[xi] += go * wv[wi];
                r.w[wi] += go * xv[xi];
              }
        }
  return r;
}

}  // namespace

TEST(Conv2dGradCheck, StridePaddingDilationWithBias) {
  const Conv2dOptions opt{.stride = 2, .padding = 1, .dilation = 2};
  EXPECT_LT(gradcheck([&](auto& v) { return conv2d(v[0], v[1], v[2], opt); },
                      {leaf({2, 3, 7, 6}, 1), leaf({4, 3, 3, 2}, 2), leaf({4}, 3)}),
            kGradTolerance);
}

TEST(Conv2dGradCheck, NonSquareKernelMixedOptionsWithoutBias) {
  const Conv2dOptions opt{.stride = {1, 2}, .padding = {0, 1}, .dilation = {2, 1}};
  EXPECT_LT(gradcheck([&](auto& v) { return conv2d(v[0], v[1], Tensor(), opt); }, {leaf({2, 2, 6, 7}, 4), leaf({3, 2, 2, 4}, 5)}),
            kGradTolerance);
}

TEST(Conv2dGradCheck, LeNetLikePadTwo) {
  const Conv2dOptions opt{.padding = 2};
  EXPECT_LT(gradcheck([&](auto& v) { return conv2d(v[0], v[1], v[2], opt); }, {leaf({2, 1, 6, 6}, 6), leaf({3, 1, 5, 5}, 7), leaf({3}, 8)}),
            kGradTolerance);
}

TEST(Conv2dGradCheck, OneInputAtATime) {
  // The others are constants: their gradients must be skipped, not computed from garbage.
  const Tensor x = leaf({2, 2, 5, 5}, 9), w = leaf({3, 2, 3, 3}, 10), b = leaf({3}, 11);
  const Conv2dOptions opt{.stride = 2, .padding = 1};
  EXPECT_LT(gradcheck([&](auto& v) { return conv2d(v[0], w.detach(), b.detach(), opt); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([&](auto& v) { return conv2d(x.detach(), v[0], b.detach(), opt); }, {w}), kGradTolerance);
  EXPECT_LT(gradcheck([&](auto& v) { return conv2d(x.detach(), w.detach(), v[0], opt); }, {b}), kGradTolerance);
}

// Stride 1, few channels: the direct kernels (direct_conv.h), with a non-square kernel, padding that differs per
// axis and a batch that is not a whole number of weight-gradient blocks.
TEST(Conv2dGradCheck, DirectKernelsNonSquarePadding) {
  const Conv2dOptions opt{.padding = {2, 1}};
  EXPECT_LT(gradcheck([&](auto& v) { return conv2d(v[0], v[1], v[2], opt); },
                      {leaf({3, 2, 7, 9}, 41), leaf({3, 2, 3, 4}, 42), leaf({3}, 43)}),
            kGradTolerance);
  EXPECT_LT(gradcheck([&](auto& v) { return conv2d(v[0], v[1], Tensor()); }, {leaf({2, 3, 5, 6}, 44), leaf({5, 3, 2, 1}, 45)}),
            kGradTolerance);
}

TEST(Conv2dGradCheck, DirectKernelsOneInputAtATime) {
  const Tensor x = leaf({2, 2, 5, 5}, 46), w = leaf({3, 2, 3, 3}, 47), b = leaf({3}, 48);
  const Conv2dOptions opt{.padding = 1};
  EXPECT_LT(gradcheck([&](auto& v) { return conv2d(v[0], w.detach(), b.detach(), opt); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([&](auto& v) { return conv2d(x.detach(), v[0], b.detach(), opt); }, {w}), kGradTolerance);
  EXPECT_LT(gradcheck([&](auto& v) { return conv2d(x.detach(), w.detach(), v[0], opt); }, {b}), kGradTolerance);
}

// Stride 1 with more than 16 channels, or padding as large as the kernel: still im2col + GEMM.
TEST(Conv2dGradCheck, StrideOneOutsideTheDirectKernels) {
  EXPECT_LT(gradcheck([&](auto& v) { return conv2d(v[0], v[1], v[2], {.padding = 1}); },
                      {leaf({1, 17, 4, 4}, 49), leaf({2, 17, 2, 2}, 50), leaf({2}, 51)}),
            kGradTolerance);
  EXPECT_LT(gradcheck([&](auto& v) { return conv2d(v[0], v[1], v[2], {.padding = 2}); },
                      {leaf({2, 2, 4, 4}, 52), leaf({2, 2, 2, 2}, 53), leaf({2}, 54)}),
            kGradTolerance);
}

// LeNet's two layers in float32 at a batch of 21 (a block of 16 samples and a partial one), all three
// gradients, against the definition in double.
TEST(Conv2d, LeNetLayersFloat32MatchTheDefinition) {
  struct Layer {
    Shape x, w;
    IntPair padding;
  };
  for (const Layer& layer : {Layer{{21, 1, 28, 28}, {6, 1, 5, 5}, 2}, Layer{{21, 6, 14, 14}, {16, 6, 5, 5}, 0}}) {
    Generator gen(61);
    const Tensor x = rand(layer.x, {}, 0, 1, &gen).requires_grad_();
    const Tensor w = rand(layer.w, {}, -0.3, 0.3, &gen).requires_grad_();
    const Tensor b = rand({layer.w[0]}, {}, -0.3, 0.3, &gen).requires_grad_();
    const Tensor y = conv2d(x, w, b, {.padding = layer.padding});
    expect_values(y, direct_conv2d(x, w, b, 1, layer.padding, 1), 2e-5, "output");
    const Tensor g = rand(y.shape(), {}, -1, 1, &gen);
    sum(mul(y, g)).backward();
    const ConvGrads want = direct_conv2d_grads(x, w, g, layer.padding);
    expect_values(x.grad(), want.x, 2e-5, "grad x");
    expect_values(w.grad(), want.w, 2e-3, "grad weight");  // sums of ~16000 products
    expect_values(b.grad(), want.b, 2e-3, "grad bias");
  }
}

// Reference values from PyTorch 1.13 (Debian's python3-torch), float64:
//   x = sin(0.37*arange(80) + 0.1).reshape(2, 2, 5, 4); w = sin(0.91*arange(36) + 0.3).reshape(3, 2, 3, 2)
//   b = [0.5, -0.25, 0.125]; y = F.conv2d(x, w, b, stride=(2, 1), padding=(1, 0), dilation=(1, 2))
//   (y * cos(0.23*arange(36)).reshape(y.shape)).sum().backward(); printed with "%.15g".
TEST(Conv2d, MatchesPyTorch) {
  const Tensor x = seq({2, 2, 5, 4}).requires_grad_();
  const Tensor w = seq({3, 2, 3, 2}, 0.91, 0.3).requires_grad_();
  const Tensor b = from_vector<double>({0.5, -0.25, 0.125}, {3}, true);
  const Tensor y = conv2d(x, w, b, {.stride = {2, 1}, .padding = {1, 0}, .dilation = {1, 2}});
  EXPECT_EQ(y.shape(), (Shape{2, 3, 3, 2}));
  sum(mul(y, gseq(y.shape()))).backward();
  expect_values(y, {1.11070942824611, 1.92035029022482, 0.980180832903671, -0.127996724708388, 1.11465554462305, 1.78154124057309, 1.63028913871703, 1.23835667963278, -3.59435664078878, -2.52416467225482, 2.0487181797004, 1.67658537137069, -0.769641993326726, -1.52009919777388, 0.149832858879648, 1.09640636076554, -0.836772876591013, -1.44746475604546, 1.97914754598364, 1.18132457472296, -2.14026124039324, -1.43653660894647, 1.66612260233795, 0.976038462244839, -1.98401016296486, -2.23975383617232, 3.64743344404182, 3.81769515234608, -2.13660820659733, -2.53090411011067, -1.09230379902544, -0.255862321896833, 2.17673033192198, 1.44729537615411, -0.756235828080012, -0.00661113915316663},
                1e-12, "output");
  expect_values(x.grad(), {1.79495215451302, 1.7238475918723, 0.538737106405295, 0.326669582357288, -0.461714534185109, -0.486918413398223, -0.110404874418593, -0.195887287491973, 1.56195278612097, 1.31779428498972, 0.0973972828181696, -0.137004659867516, -0.48647765828526, -0.460415482188308, -0.271052863660789, -0.331942841740995, 1.00423123552828, 0.63777812870751, -0.364190949362454, -0.572196317651134, 1.74321327605287, 1.85131059564489, 1.7263721504106, 1.63703816418842, -0.474574800512318, -0.42667982850442, -0.440979566026465, -0.473777635848365, 1.86190455134075, 1.77443718905122, 1.4614859452125, 1.20896133906375, -0.356312820370503, -0.26717981010427, -0.481623159434828, -0.464102934947651, 1.59351517071319, 1.32866715425815, 0.892764112201633, 0.52954749037133, -0.88432819230132, -0.504144805945209, 0.437832210637572, 0.636726537311972, 0.387848601176425, 0.309389237470726, 0.38571479950347, 0.402275136844934, -0.0974095192293916, 0.314456055090632, 0.802086253740034, 0.925202325012878, 0.214635205826742, 0.108576936726395, 0.397648765080729, 0.372079342304053, 0.709760106324806, 1.06768307299718, 0.999590571151727, 1.02133317077645, -1.5120420601031, -1.22156920321908, -0.773306995820761, -0.398337872839664, 0.126529463197186, 0.0130770704873961, 0.402605996860202, 0.331549248320307, -0.866759704592715, -0.466300390594349, -0.00238940546304778, 0.39368490523284, -0.101064055039797, -0.209882418757844, 0.243030725897347, 0.141712453199712, -0.0412823360064807, 0.385909944040687, 0.769024930355231, 1.10386255798364},
                1e-12, "grad x");
  expect_values(w.grad(), {1.15801343598354, 1.10306668224643, 0.478012269905144, 1.31149544883099, 0.928684323418022, 0.819914775890441, 0.838264682865124, 0.0260102024275199, 1.4871420965698, 1.22888489801282, 0.586018053043141, -0.0712018073510969, 0.460579236281393, 0.581827704505614, 1.28753552538079, -0.0954636632943487, 0.896809383526055, 0.970213377310439, 0.524135597525664, 0.213950994030383, -0.829847586925523, -1.85188554456727, 0.803734085780485, 0.18512632685602, -0.983324177489686, -0.882390103137318, 0.0103263448122697, -1.34770306576274, -0.588540969402863, -0.451930633071579, -0.639469662010016, 0.0551374863023195, -1.80188806903992, -1.93127112629318, -0.281176452703509, 0.141416828391277},
                1e-12, "grad weight");
  expect_values(b.grad(), {4.66975666319112, 3.37013509353157, -3.39152622174445}, 1e-12, "grad bias");
}

// float32 through several column blocks (the batch does not fit one block) against the direct definition.
TEST(Conv2d, Float32MatchesDirectConvolution) {
  Generator gen(21);
  const Tensor x = rand({37, 3, 20, 18}, {}, -1, 1, &gen), w = rand({5, 3, 5, 3}, {}, -1, 1, &gen);
  const Tensor b = rand({5}, {}, -1, 1, &gen);
  for (const Conv2dOptions& opt : {Conv2dOptions{.padding = 2}, Conv2dOptions{.stride = {2, 3}, .padding = {1, 2}, .dilation = {2, 1}}}) {
    const Tensor y = conv2d(x, w, b, opt);
    EXPECT_EQ(y.dtype(), DType::Float32);
    expect_values(y, direct_conv2d(x, w, b, opt.stride, opt.padding, opt.dilation), 1e-4, "conv2d float32");
  }
}

// The batch is processed in blocks of samples; the gradients must not depend on how the batch is cut.
TEST(Conv2d, BlockedBatchMatchesSampleBySample) {
  Tensor x = leaf({40, 3, 24, 24}, 31), w = leaf({4, 3, 3, 3}, 32), b = leaf({4}, 33);
  const Conv2dOptions opt{.stride = 1, .padding = 1};
  const Tensor y = conv2d(x, w, b, opt);
  const Tensor g = gseq(y.shape());
  sum(mul(y, g)).backward();
  const Tensor gx = x.grad(), gw = w.grad(), gb = b.grad();
  w.set_grad(Tensor());
  b.set_grad(Tensor());
  for (std::int64_t n = 0; n < 40; ++n) {
    const Tensor xn = x.detach().slice(0, n, n + 1).contiguous().requires_grad_();
    const Tensor yn = conv2d(xn, w, b, opt);
    expect_values(yn, y.detach().slice(0, n, n + 1).to_vector<double>(), 1e-12, "output sample");
    sum(mul(yn, g.slice(0, n, n + 1))).backward();
    expect_values(xn.grad(), gx.slice(0, n, n + 1).to_vector<double>(), 1e-12, "grad x sample");
  }
  expect_values(w.grad(), gw.to_vector<double>(), 1e-9, "grad weight summed over samples");
  expect_values(b.grad(), gb.to_vector<double>(), 1e-9, "grad bias summed over samples");
}

// col2im is the adjoint of im2col: <im2col(x), c> == <x, col2im(c)> for any x and c, with padding, stride,
// dilation and a block of 3 samples stored batch-innermost.
TEST(Im2col, Col2imIsTheAdjoint) {
  kernels::ConvGeometry g{2, 7, 6, 3, 2, 2, 1, 1, 2, 2, 3, 0, 0};
  g.out_h = kernels::conv_out_size(g.height, g.kernel_h, g.stride_h, g.pad_h, g.dilation_h);
  g.out_w = kernels::conv_out_size(g.width, g.kernel_w, g.stride_w, g.pad_w, g.dilation_w);
  ASSERT_EQ(g.out_h, 3);
  ASSERT_EQ(g.out_w, 7);
  const std::int64_t batch = 3, rows = g.channels * g.kernel_h * g.kernel_w, cols = g.out_h * g.out_w * batch;
  const std::int64_t ld = cols + 5;
  const std::vector<double> x = seq({g.channels, g.height, g.width, batch}).to_vector<double>();
  const std::vector<double> c = seq({rows, ld}, 0.53, 0.7).to_vector<double>();
  std::vector<double> col(rows * ld, 123.0), back(x.size(), 123.0);
  for (std::int64_t r = 0; r < rows; ++r) kernels::im2col_row(g, batch, x.data(), col.data() + r * ld, r);
  for (std::int64_t ch = 0; ch < g.channels; ++ch) kernels::col2im_channel(g, batch, c.data(), ld, back.data(), ch);
  double lhs = 0, rhs = 0;
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t k = 0; k < cols; ++k) lhs += col[r * ld + k] * c[r * ld + k];
  for (std::size_t i = 0; i < x.size(); ++i) rhs += x[i] * back[i];
  EXPECT_NEAR(lhs, rhs, 1e-12);
  // Row (channel 0, kernel row 0, kernel column 0), output (0, 0) reads x[0, -1, -2]: padding.
  EXPECT_EQ(col[0], 0.0);
  // Row (channel 1, kernel row 2, kernel column 1), output (1, 4), sample 2 reads
  // x[1, 1*2 - 1 + 2*2, 4 - 2 + 1*3, 2] = x[1, 5, 5, 2].
  EXPECT_EQ(col[(1 * 6 + 2 * 2 + 1) * ld + (1 * 7 + 4) * batch + 2], x[((1 * 7 + 5) * 6 + 5) * batch + 2]);
  for (std::int64_t r = 0; r < rows; ++r) EXPECT_EQ(col[r * ld + cols], 123.0) << "wrote past the row";
}

// The one-element forms (a GPU thread each) give what the CPU's row and channel forms give, entry by entry, for
// geometries with stride, padding and dilation on either axis.
TEST(Im2col, ElementFormsMatchTheRowForms) {
  for (kernels::ConvGeometry g : {kernels::ConvGeometry{2, 7, 6, 3, 2, 2, 1, 1, 2, 2, 3, 0, 0},
                                  kernels::ConvGeometry{3, 9, 8, 3, 3, 2, 3, 1, 0, 1, 1, 0, 0},
                                  kernels::ConvGeometry{1, 5, 5, 2, 2, 2, 2, 0, 0, 1, 1, 0, 0}}) {
    g.out_h = kernels::conv_out_size(g.height, g.kernel_h, g.stride_h, g.pad_h, g.dilation_h);
    g.out_w = kernels::conv_out_size(g.width, g.kernel_w, g.stride_w, g.pad_w, g.dilation_w);
    const std::int64_t batch = 3, rows = g.channels * g.kernel_h * g.kernel_w, cols = g.out_h * g.out_w * batch;
    const std::vector<double> x = seq({g.channels, g.height, g.width, batch}).to_vector<double>();
    const std::vector<double> c = seq({rows, cols}, 0.53, 0.7).to_vector<double>();
    std::vector<double> col(rows * cols), back(x.size());
    for (std::int64_t r = 0; r < rows; ++r) kernels::im2col_row(g, batch, x.data(), col.data() + r * cols, r);
    for (std::int64_t ch = 0; ch < g.channels; ++ch) kernels::col2im_channel(g, batch, c.data(), cols, back.data(), ch);
    for (std::int64_t k = 0; k < rows * cols; ++k)
      ASSERT_EQ(kernels::im2col_element(g, batch, x.data(), k, 0.0), col[k]) << "column entry " << k;
    // Padding reads the given value (max pooling pads with -infinity).
    if (g.pad_h > 0) {
      EXPECT_EQ(kernels::im2col_element(g, batch, x.data(), 0, -7.0), -7.0);
    }
    for (std::int64_t k = 0; k < static_cast<std::int64_t>(x.size()); ++k)
      ASSERT_NEAR(kernels::col2im_element(g, batch, c.data(), cols, k), back[k], 1e-12) << "input element " << k;
  }
}

TEST(Conv2d, ChannelMismatchNamesBothShapes) {
  const std::string m = message_of<std::invalid_argument>([] { conv2d(zeros({2, 3, 8, 8}), zeros({6, 4, 3, 3})); });
  EXPECT_NE(m.find("conv2d"), std::string::npos) << m;
  EXPECT_NE(m.find("[2, 3, 8, 8]"), std::string::npos) << m;
  EXPECT_NE(m.find("[6, 4, 3, 3]"), std::string::npos) << m;
}

TEST(Conv2d, EmptyOutputNamesTheGeometry) {
  const std::string m = message_of<std::invalid_argument>([] {
    conv2d(zeros({1, 1, 5, 9}), zeros({1, 1, 4, 3}), Tensor(), {.stride = {1, 2}, .padding = {0, 1}, .dilation = {2, 3}});
  });
  EXPECT_NE(m.find("conv2d"), std::string::npos) << m;
  EXPECT_NE(m.find("5x9"), std::string::npos) << m;        // input size
  EXPECT_NE(m.find("4x3"), std::string::npos) << m;        // kernel
  EXPECT_NE(m.find("stride (1, 2)"), std::string::npos) << m;
  EXPECT_NE(m.find("padding (0, 1)"), std::string::npos) << m;
  EXPECT_NE(m.find("dilation (2, 3)"), std::string::npos) << m;
}

TEST(Conv2d, RejectsBadArguments) {
  std::string m = message_of<std::invalid_argument>([] { conv2d(zeros({3, 8, 8}), zeros({6, 3, 3, 3})); });
  EXPECT_NE(m.find("4-d input"), std::string::npos) << m;
  EXPECT_NE(m.find("[3, 8, 8]"), std::string::npos) << m;
  m = message_of<std::invalid_argument>([] { conv2d(zeros({1, 3, 8, 8}), zeros({6, 3, 3})); });
  EXPECT_NE(m.find("[6, 3, 3]"), std::string::npos) << m;
  m = message_of<std::invalid_argument>([] { conv2d(zeros({1, 3, 8, 8}), zeros({6, 3, 3, 3}), zeros({5})); });
  EXPECT_NE(m.find("bias"), std::string::npos) << m;
  EXPECT_NE(m.find("[5]"), std::string::npos) << m;
  m = message_of<std::invalid_argument>([] { conv2d(zeros({1, 3, 8, 8}), zeros({6, 3, 3, 3}), Tensor(), {.stride = 0}); });
  EXPECT_NE(m.find("stride (0, 0)"), std::string::npos) << m;
  m = message_of<std::invalid_argument>([] { conv2d(zeros({1, 3, 8, 8}), zeros({6, 3, 3, 3}, {.dtype = DType::Float64})); });
  EXPECT_NE(m.find("float64"), std::string::npos) << m;
}
