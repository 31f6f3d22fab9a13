#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <lamina/core/pooling.h>

#include "core/gradcheck.h"
#include "expect.h"

using namespace lamina;
using lamina::testing::gradcheck;
using lamina::testing::message_of;
using lamina::testing::kGradTolerance;
using lamina::testing::leaf;

namespace {

Tensor seq(const Shape& shape) {
  std::vector<double> v(shape_numel(shape));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.37 * static_cast<double>(i) + 0.1);
  return from_vector<double>(v, shape);
}

Tensor gseq(const Shape& shape) {
  std::vector<double> v(shape_numel(shape));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::cos(0.23 * static_cast<double>(i));
  return from_vector<double>(v, shape);
}

// A float64 leaf holding a shuffled 0.01, 0.02, ...: every pair differs by far more than gradcheck's step, so no
// window's maximum changes place under the finite-difference perturbation.
Tensor distinct_leaf(const Shape& shape, unsigned seed) {
  std::vector<double> v(shape_numel(shape));
  std::iota(v.begin(), v.end(), 1.0);
  std::shuffle(v.begin(), v.end(), std::mt19937(seed));
  for (double& e : v) e *= 0.01;
  return from_vector<double>(v, shape, true);
}

void expect_values(const Tensor& t, const std::vector<double>& expected, double tol, const char* what) {
  const std::vector<double> got = t.to(DType::Float64).to_vector<double>();
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], tol) << what << " element " << i;
}

}  // namespace

TEST(MaxPool2dGradCheck, OverlappingWindowsWithPadding) {
  EXPECT_LT(gradcheck([](auto& v) { return max_pool2d(v[0], 3, 2, 1); }, {distinct_leaf({2, 3, 7, 6}, 1)}), kGradTolerance);
}

TEST(MaxPool2dGradCheck, NonSquareKernelDefaultStride) {
  EXPECT_LT(gradcheck([](auto& v) { return max_pool2d(v[0], {2, 3}); }, {distinct_leaf({2, 2, 6, 9}, 2)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return max_pool2d(v[0], {3, 2}, IntPair{1, 2}, {1, 0}); }, {distinct_leaf({1, 2, 5, 6}, 3)}),
            kGradTolerance);
}

TEST(AvgPool2dGradCheck, PaddingCountedInTheDivisor) {
  EXPECT_LT(gradcheck([](auto& v) { return avg_pool2d(v[0], 3, 2, 1); }, {leaf({2, 3, 7, 6}, 4)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return avg_pool2d(v[0], {3, 2}, IntPair{2, 1}, {1, 1}); }, {leaf({1, 2, 5, 5}, 5)}),
            kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return avg_pool2d(v[0], 2); }, {leaf({2, 2, 6, 6}, 6)}), kGradTolerance);
}

// 2x2 windows with stride 2 take their own loops; odd sizes leave a last row and column that no window covers.
TEST(AvgPool2dGradCheck, TwoByTwoOddSizes) {
  EXPECT_LT(gradcheck([](auto& v) { return avg_pool2d(v[0], 2, 2); }, {leaf({2, 2, 7, 5}, 9)}), kGradTolerance);
}

TEST(AdaptiveAvgPool2dGradCheck, OverlappingAndGlobal) {
  EXPECT_LT(gradcheck([](auto& v) { return adaptive_avg_pool2d(v[0], {3, 4}); }, {leaf({2, 2, 7, 6}, 7)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return adaptive_avg_pool2d(v[0], {5, 2}); }, {leaf({1, 2, 3, 7}, 8)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return adaptive_avg_pool2d(v[0], 1); }, {leaf({2, 3, 4, 5}, 9)}), kGradTolerance);
}

// The reference numbers below come from PyTorch 1.13 (Debian's python3-torch) in float64, with
//   x = sin(0.37*arange(n) + 0.1).reshape(shape); y = F.<pool>(x, ...)
//   (y * cos(0.23*arange(y.numel())).reshape(y.shape)).sum().backward(); printed with "%.15g".
TEST(Pooling, MaxPoolMatchesPyTorch) {
  // F.max_pool2d(x [1, 2, 5, 5], 3, 2, 1)
  const Tensor x = seq({1, 2, 5, 5}).requires_grad_();
  const Tensor y = max_pool2d(x, 3, 2, 1);
  EXPECT_EQ(y.shape(), (Shape{1, 2, 3, 3}));
  sum(mul(y, gseq(y.shape()))).backward();
  expect_values(y, {0.928959715003869, 0.935616001553386, 0.99995764649874, 0.928959715003869, 0.732231444030251, 0.749174348331689, 0.999871708718139, 0.999871708718139, 0.749174348331689, 0.0747082903895348, -0.253571464495014, 0.113385019883642, 0.753670785141781, 0.999739337036853, 0.999739337036853, 0.722881349511976, 0.424095846172091, -0.297465356813311},
                1e-12, "output");
  expect_values(x.grad(), {0, 0, 0, 0.973666395005375, 0.896052497525525, 1.77124601499711, 0.605820156643463, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.142523565275177, 0, 0.150447199524847, 0, 0, 0, -0.47872654415872, 0, 0, 0, 0, 0, 0, 0, -0.666276021279824, -0.818734599277382, 0, -0.928072710209333, 0, -1.98545953928428, 0, -0.952818214594305, -0.858526433742102, 0, -0.719018460922681, 0, 0, 0, 0, 0, 0},
                1e-12, "grad x");
}

TEST(Pooling, MaxPoolTiesGoToTheFirstPositionLikePyTorch) {
  // F.max_pool2d(ones(1, 1, 4, 4), 2, 1): every window is a tie.
  const Tensor x = ones({1, 1, 4, 4}, {.dtype = DType::Float64}).requires_grad_();
  const Tensor y = max_pool2d(x, 2, 1);
  sum(mul(y, gseq(y.shape()))).backward();
  expect_values(x.grad(), {1, 0.973666395005375, 0.896052497525525, 0, 0.771246014997107, 0.605820156643463, 0.408487440884157, 0, 0.189640831297834, -0.0391936317729877, -0.26596387560898, 0, 0, 0, 0, 0},
                1e-12, "grad x");
}

TEST(Pooling, AvgPoolMatchesPyTorch) {
  // F.avg_pool2d(x [1, 2, 5, 5], (3, 2), (2, 1), (1, 1)), count_include_pad=True
  const Tensor x = seq({1, 2, 5, 5}).requires_grad_();
  const Tensor y = avg_pool2d(x, {3, 2}, IntPair{2, 1}, {1, 1});
  EXPECT_EQ(y.shape(), (Shape{1, 2, 3, 6}));
  sum(mul(y, gseq(y.shape()))).backward();
  expect_values(y, {0.171465521941783, 0.368985143510003, 0.394359988590051, 0.366360059240773, 0.288775014545989, 0.119255322327046, -0.04576895942831, -0.109836296355846, -0.137761837854621, -0.14704196086977, -0.136420644286217, -0.0630731843435317, 0.0577140660239548, 0.180999768905233, 0.295456901094276, 0.36992532777119, 0.394326096732435, 0.196571967174243, -0.150744906460297, -0.339154368483943, -0.388983142794483, -0.386164873530203, -0.331081000214926, -0.145489807455559, 0.0347831656824797, 0.091160190638894, 0.126717543335492, 0.145124271000499, 0.14388910939432, 0.0691053567728989, -0.0234253538826549, -0.117313403352209, -0.245531487479054, -0.340518036615886, -0.389417066939082, -0.200542468332695},
                1e-12, "output");
  expect_values(x.grad(), {0.328944399167562, 0.311619815421817, 0.277883085420439, 0.229511028606762, 0.169051266254603, 0.354018932421704, 0.260760230858155, 0.153768015459155, 0.0386772677003374, -0.0784505038382644, 0.0250745332541411, -0.0508595845636613, -0.124115069961283, -0.190833760906424, -0.247501770092868, -0.29435955525198, -0.381769507777708, -0.449072725469815, -0.492724535629158, -0.510425919203665, -0.319434088506121, -0.330909923214047, -0.324957655508532, -0.301890774722734, -0.262924149110797, -0.146230025432475, -0.0746484812823675, 0.000864590106816911, 0.0763321259472909, 0.147779461681573, 0.117741695906211, 0.227948641840662, 0.326150168788526, 0.407174276308776, 0.46675365071645, 0.263971721338686, 0.302597123123029, 0.325285578681709, 0.330842150361485, 0.318974189034877, 0.510321380118738, 0.492015144360165, 0.447795843675685, 0.379992385260024, 0.292175788095557, 0.246349658780052, 0.189418021237136, 0.122510264993976, 0.0491502348985392, -0.0267984009393198},
                1e-12, "grad x");
}

TEST(Pooling, AdaptiveAvgPoolMatchesPyTorch) {
  // F.adaptive_avg_pool2d(x [1, 2, 5, 7], (3, 4)): overlapping windows of unequal sizes.
  const Tensor x = seq({1, 2, 5, 7}).requires_grad_();
  const Tensor y = adaptive_avg_pool2d(x, {3, 4});
  EXPECT_EQ(y.shape(), (Shape{1, 2, 3, 4}));
  sum(mul(y, gseq(y.shape()))).backward();
  expect_values(y, {0.267655233986573, 0.219727325864067, 0.0685032860740693, -0.0761312550659519, 0.168214185941312, 0.0582448234647586, -0.102751407064907, -0.197787998111871, 0.0199969118841805, -0.120126639026951, -0.244211788707561, -0.262093144772774, 0.247277940409764, 0.151711758555987, -0.0303633772494546, -0.166644156693577, 0.0970253683377742, -0.0269002246226655, -0.169732868988307, -0.227684468780331, -0.0813611644251379, -0.197712084234909, -0.259885769789309, -0.222704254438374},
                1e-12, "output");
  expect_values(x.grad(), {0.25, 0.412277732500896, 0.162277732500896, 0.311619815421817, 0.149342082920921, 0.342153586670197, 0.192811503749277, 0.350970026107244, 0.558635252039713, 0.207665225932469, 0.378078512330927, 0.170413286398458, 0.35669251818557, 0.186279231787112, 0.100970026107244, 0.146357519538817, 0.045387493431573, 0.0664586969091102, 0.0210712034775371, 0.0145389315153725, -0.00653227196216462, 0.0344790572049987, 7.87932767850191e-05, -0.0344002639282137, -0.124375063997314, -0.0899748000691003, -0.30119072185061, -0.21121592178151, -0.0664909689022451, -0.146278726262032, -0.0797877573597867, -0.190833760906424, -0.111046003546637, -0.315729653365983, -0.204683649819345, -0.232018177552333, -0.396773481023566, -0.164755303471233, -0.330909923214047, -0.166154619742814, -0.404359173391391, -0.238204553648576, -0.37510591650935, -0.619752160083103, -0.244646243573753, -0.470983284631645, -0.226337041057892, -0.520497988166327, -0.294160947108435, -0.143087738957017, -0.222978679059537, -0.0798909401025201, -0.140073361417598, -0.0601824213150775, -0.116138814774936, -0.0559563934598585, -0.17112587069078, -0.231460132863975, -0.0603342621731942, -0.0637412354703067, -0.00340697329711252, 0.0771426537384411, 0.0805496270355536, -0.0280381317337635, -0.00848145380443759, 0.0195566779293259, 0.0763321259472909, 0.056775448017965, 0.193281468513377, 0.136506020495412},
                1e-12, "grad x");
}

TEST(Pooling, GlobalAveragePoolIsTheMeanOverThePlane) {
  const Tensor x = seq({3, 4, 5, 6}).to(DType::Float32);
  const Tensor y = adaptive_avg_pool2d(x, {1, 1});
  EXPECT_EQ(y.shape(), (Shape{3, 4, 1, 1}));
  expect_values(y, mean(x, {2, 3}).to(DType::Float64).to_vector<double>(), 1e-6, "global average");
}

TEST(Pooling, Float32MatchesFloat64) {
  const Tensor x = seq({4, 3, 11, 10});
  const Tensor x32 = x.to(DType::Float32);
  expect_values(max_pool2d(x32, 3, 2, 1), max_pool2d(x, 3, 2, 1).to_vector<double>(), 1e-6, "max_pool2d");
  expect_values(avg_pool2d(x32, 3, 2, 1), avg_pool2d(x, 3, 2, 1).to_vector<double>(), 1e-6, "avg_pool2d");
  expect_values(adaptive_avg_pool2d(x32, {4, 3}), adaptive_avg_pool2d(x, {4, 3}).to_vector<double>(), 1e-6, "adaptive");
}

// The 2x2 loops against the general ones (adaptive pooling to half the size has the same windows): the same
// sums in the same order, so bit for bit the same values and gradients.
TEST(Pooling, TwoByTwoMatchesTheGeneralWindows) {
  const Tensor x = seq({3, 4, 12, 10}).to(DType::Float32).requires_grad_();
  const Tensor x2 = x.detach().clone().requires_grad_();
  const Tensor fast = avg_pool2d(x, 2), general = adaptive_avg_pool2d(x2, {6, 5});
  EXPECT_EQ(fast.to_vector<float>(), general.to_vector<float>());
  const Tensor g = gseq(fast.shape()).to(DType::Float32);
  sum(mul(fast, g)).backward();
  sum(mul(general, g)).backward();
  EXPECT_EQ(x.grad().to_vector<float>(), x2.grad().to_vector<float>());
}

TEST(Pooling, MaxPoolPropagatesNaN) {
  const Tensor x = from_vector<double>({1, std::nan(""), 3, 4}, {1, 1, 2, 2});
  EXPECT_TRUE(std::isnan(max_pool2d(x, 2).item()));
}

TEST(Pooling, RejectsBadArguments) {
  std::string m = message_of<std::invalid_argument>([] { max_pool2d(zeros({3, 8, 8}), 2); });
  EXPECT_NE(m.find("max_pool2d"), std::string::npos) << m;
  EXPECT_NE(m.find("[3, 8, 8]"), std::string::npos) << m;
  m = message_of<std::invalid_argument>([] { avg_pool2d(zeros({1, 1, 8, 8}), 3, 1, 2); });
  EXPECT_NE(m.find("avg_pool2d"), std::string::npos) << m;
  EXPECT_NE(m.find("padding (2, 2)"), std::string::npos) << m;
  EXPECT_NE(m.find("half the kernel (3, 3)"), std::string::npos) << m;
  m = message_of<std::invalid_argument>([] { max_pool2d(zeros({1, 1, 4, 8}), 5); });
  EXPECT_NE(m.find("kernel (5, 5)"), std::string::npos) << m;
  EXPECT_NE(m.find("[1, 1, 4, 8]"), std::string::npos) << m;
  m = message_of<std::invalid_argument>([] { max_pool2d(zeros({1, 1, 4, 8}), 2, 0); });
  EXPECT_NE(m.find("stride (0, 0)"), std::string::npos) << m;
  m = message_of<std::invalid_argument>([] { adaptive_avg_pool2d(zeros({2, 3, 4, 4}), {0, 2}); });
  EXPECT_NE(m.find("adaptive_avg_pool2d"), std::string::npos) << m;
  EXPECT_NE(m.find("(0, 2)"), std::string::npos) << m;
  EXPECT_NE(m.find("[2, 3, 4, 4]"), std::string::npos) << m;
  m = message_of<std::invalid_argument>([] { adaptive_avg_pool2d(zeros({2, 3, 4}), 1); });
  EXPECT_NE(m.find("4-d input"), std::string::npos) << m;
}
