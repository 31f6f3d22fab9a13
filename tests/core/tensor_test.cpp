#include <gtest/gtest.h>

#include <lamina/lamina.h>

#include "expect.h"
#include "core/gradcheck.h"

using namespace lamina;
using lamina::testing::expect_contains;
using lamina::testing::message_of;
using lamina::testing::gradcheck;
using lamina::testing::kGradTolerance;
using lamina::testing::leaf;

namespace {

// 0, 1, 2, ... in a float tensor of `shape`.
Tensor iota(const Shape& shape) { return arange(0, static_cast<double>(shape_numel(shape))).reshape(shape); }

}  // namespace

TEST(Tensor, FactoriesAndShape) {
  Tensor z = zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.dtype(), DType::Float32);
  EXPECT_TRUE(z.is_contiguous());
  EXPECT_EQ(sum(ones({4, 5}, {.dtype = DType::Float64})).item(), 20.0);
  EXPECT_EQ(full({2}, 3.5).to_vector<float>(), (std::vector<float>{3.5f, 3.5f}));
  EXPECT_EQ(arange(0, 5).to_vector<float>(), (std::vector<float>{0, 1, 2, 3, 4}));
}

TEST(Tensor, TransposeIsAViewAndMatmulReadsIt) {
  Tensor a = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor t = a.t();
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(t.storage().data(), a.storage().data());
  EXPECT_EQ(t.contiguous().to_vector<double>(), (std::vector<double>{1, 4, 2, 5, 3, 6}));
  Tensor p = matmul(a, t);  // [[14, 32], [32, 77]]
  EXPECT_EQ(p.to_vector<double>(), (std::vector<double>{14, 32, 32, 77}));
}

// --- views: values and aliasing ---

TEST(TensorViews, ReshapeIsAViewWhenPossibleAndACopyOtherwise) {
  const Tensor x = iota({2, 3});
  const Tensor r = x.reshape({3, -1});
  EXPECT_EQ(r.shape(), (Shape{3, 2}));
  EXPECT_EQ(r.storage().data(), x.storage().data());
  EXPECT_EQ(r.to_vector<float>(), x.to_vector<float>());
  // A transpose cannot be flattened in place: reshape copies, in the transpose's element order.
  const Tensor flat = x.t().reshape({6});
  EXPECT_NE(flat.storage().data(), x.storage().data());
  EXPECT_EQ(flat.to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  // Splitting one dimension of a transposed tensor is still a view.
  const Tensor y = iota({2, 3, 4}).transpose(0, 1);  // [3, 2, 4]
  const Tensor split = y.view({3, 2, 2, 2});
  EXPECT_EQ(split.storage().data(), y.storage().data());
  EXPECT_EQ(split.to_vector<float>(), y.to_vector<float>());
  EXPECT_THROW(x.reshape({}), std::invalid_argument);
  EXPECT_EQ(full({1, 1}, 4.0).t().reshape({}).dim(), 0);
  EXPECT_EQ(full({1, 1}, 4.0).t().reshape({}).item(), 4.0);
}

TEST(TensorViews, SliceSelectAndStep) {
  const Tensor x = iota({3, 5});
  const Tensor s = x.slice(1, 0, 5, 2);
  EXPECT_EQ(s.shape(), (Shape{3, 3}));
  EXPECT_EQ(s.to_vector<float>(), (std::vector<float>{0, 2, 4, 5, 7, 9, 10, 12, 14}));
  EXPECT_EQ(x.slice(1, 1, 5, 3).to_vector<float>(), (std::vector<float>{1, 4, 6, 9, 11, 14}));
  EXPECT_EQ(x.slice(0, -2, 3).to_vector<float>(), (std::vector<float>{5, 6, 7, 8, 9, 10, 11, 12, 13, 14}));
  EXPECT_EQ(x.slice(1, 2, 100).shape(), (Shape{3, 3}));  // end clamps to the size, as in Python
  EXPECT_EQ(x.slice(1, 3, 2).shape(), (Shape{3, 0}));
  EXPECT_EQ(x.select(1, -1).to_vector<float>(), (std::vector<float>{4, 9, 14}));
  EXPECT_EQ(x.select(0, 1).to_vector<float>(), (std::vector<float>{5, 6, 7, 8, 9}));
  EXPECT_EQ(x.slice(1, 0, 5, 2).select(0, 2).to_vector<float>(), (std::vector<float>{10, 12, 14}));
  // Writing through a slice writes the original.
  Tensor y = zeros({2, 4});
  y.slice(1, 1, 4, 2).fill_(7.0);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0, 7, 0, 7, 0, 7, 0, 7}));
}

TEST(TensorViews, PermuteSqueezeUnsqueezeExpandFlatten) {
  const Tensor x = iota({2, 3, 4});
  const Tensor p = x.permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(p.strides(), (Shape{1, 12, 4}));
  EXPECT_EQ(p.select(0, 1).to_vector<float>(), (std::vector<float>{1, 5, 9, 13, 17, 21}));
  EXPECT_EQ(x.unsqueeze(1).shape(), (Shape{2, 1, 3, 4}));
  EXPECT_EQ(x.unsqueeze(-1).shape(), (Shape{2, 3, 4, 1}));
  EXPECT_EQ(x.t().unsqueeze(0).shape(), (Shape{1, 3, 2, 4}));  // t() of a 3-d tensor swaps dims 0 and 1
  EXPECT_EQ(x.unsqueeze(1).squeeze(1).shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(x.squeeze(0).shape(), (Shape{2, 3, 4}));  // not of size 1: unchanged
  const Tensor col = from_vector<float>({1, 2, 3}, {3, 1});
  const Tensor e = col.expand({2, 3, 4});
  EXPECT_EQ(e.strides(), (Shape{0, 1, 0}));
  EXPECT_EQ(e.select(0, 1).select(1, 3).to_vector<float>(), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(x.flatten().shape(), (Shape{24}));
  EXPECT_EQ(x.flatten(1).shape(), (Shape{2, 12}));
  EXPECT_EQ(x.flatten(0, 1).shape(), (Shape{6, 4}));
  EXPECT_EQ(x.transpose(0, 1).flatten(0, 1).select(0, 1).to_vector<float>(), (std::vector<float>{12, 13, 14, 15}));
}

TEST(TensorViews, CloneContiguousAndDtypeConversion) {
  const Tensor x = iota({2, 3});
  EXPECT_TRUE(x.contiguous().is_same(x));
  const Tensor c = x.t().contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  Tensor k = x.clone();
  k.fill_(1.0);
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  const Tensor d = from_vector<float>({1.5f, -2.25f}, {2}).to(DType::Float64);
  EXPECT_EQ(d.dtype(), DType::Float64);
  EXPECT_EQ(d.to_vector<double>(), (std::vector<double>{1.5, -2.25}));
  EXPECT_EQ(from_vector<double>({2.9, -2.9}, {2}).to(DType::Int64).to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{2, -2}));  // truncation toward zero, as a C++ cast
}

TEST(TensorViews, ErrorsNameTheOpAndShapes) {
  const Tensor x = zeros({2, 3});
  expect_contains(message_of<std::invalid_argument>([&] { x.t().view({6}); }), {"view", "[3, 2]", "[1, 3]", "[6]", "reshape"});
  expect_contains(message_of<std::invalid_argument>([&] { x.reshape({4, 2}); }), {"reshape", "[2, 3]", "6 elements", "[4, 2]"});
  expect_contains(message_of<std::invalid_argument>([&] { x.view({-1, -1}); }), {"view", "-1"});
  expect_contains(message_of<std::out_of_range>([&] { x.transpose(0, 2); }), {"transpose", "dimension 2", "2-d"});
  expect_contains(message_of<std::invalid_argument>([&] { x.permute({0, 0}); }), {"permute", "repeats"});
  expect_contains(message_of<std::invalid_argument>([&] { x.permute({0}); }), {"permute", "1 dimensions", "2-d"});
  expect_contains(message_of<std::invalid_argument>([&] { x.slice(1, 0, 3, 0); }), {"slice", "step"});
  expect_contains(message_of<std::out_of_range>([&] { x.select(1, 3); }), {"select", "index 3", "dimension 1", "size 3"});
  expect_contains(message_of<std::invalid_argument>([&] { x.expand({4, 3}); }), {"expand", "[2, 3]", "[4, 3]"});
  expect_contains(message_of<std::invalid_argument>([&] { x.expand({3}); }), {"expand", "[2, 3]", "[3]"});
}

// copy_ and add_ walk a strided or broadcast source row by row; every layout must land element for element.
TEST(TensorInPlace, CopyAndAddFromStridedAndBroadcastSources) {
  const Tensor m = arange(0, 6, 1).reshape({2, 3});  // [[0, 1, 2], [3, 4, 5]]
  Tensor dst = zeros({3, 2});
  dst.copy_(m.t());
  EXPECT_EQ(dst.to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  dst.copy_(from_vector<double>({7, 8}, {2}));  // a row broadcast over the rows, converted to float
  EXPECT_EQ(dst.to_vector<float>(), (std::vector<float>{7, 8, 7, 8, 7, 8}));
  dst.copy_(from_vector<float>({1, 2, 3}, {3, 1}));  // a column broadcast over the columns
  EXPECT_EQ(dst.to_vector<float>(), (std::vector<float>{1, 1, 2, 2, 3, 3}));
  Tensor every_other = zeros({2, 6}).slice(1, 0, 6, 2);  // a strided destination
  every_other.copy_(m);
  EXPECT_EQ(every_other.contiguous().to_vector<float>(), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  Tensor scalar = zeros({});
  scalar.copy_(full({}, 2.5));
  EXPECT_EQ(scalar.item(), 2.5);

  Tensor acc = ones({3, 2});
  acc.add_(m.t(), 2.0);
  EXPECT_EQ(acc.to_vector<float>(), (std::vector<float>{1, 7, 3, 9, 5, 11}));
  acc.add_(from_vector<float>({-1, 1}, {2}));
  EXPECT_EQ(acc.to_vector<float>(), (std::vector<float>{0, 8, 2, 10, 4, 12}));
  acc.add_(full({}, 1.0), -0.5);
  EXPECT_EQ(acc.to_vector<float>(), (std::vector<float>{-0.5, 7.5, 1.5, 9.5, 3.5, 11.5}));
}

TEST(Tensor, ItemNeedsExactlyOneElement) {
  EXPECT_EQ(full({1, 1}, 2.5).item(), 2.5);
  EXPECT_EQ(scalar_tensor(-4, {.dtype = DType::Int64}).item<std::int64_t>(), -4);
  expect_contains(message_of<std::invalid_argument>([] { zeros({2, 3}).item(); }), {"item", "6 elements", "[2, 3]"});
  expect_contains(message_of<std::invalid_argument>([] { zeros({0}).item(); }), {"item", "0 elements"});
}

// --- printing (PyTorch's layout, with every float at 4 decimals and no column padding) ---

TEST(TensorPrinting, FloatAndIntegerTensors) {
  EXPECT_EQ(from_vector<float>({1, 2.5, -3, 4}, {2, 2}).str(), "tensor([[1.0000, 2.5000],\n        [-3.0000, 4.0000]])");
  EXPECT_EQ(arange(0, 3, 1, {.dtype = DType::Int64}).str(), "tensor([0, 1, 2], dtype=int64)");
  EXPECT_EQ(from_vector<std::int64_t>({-7, 12}, {2, 1}).str(), "tensor([[-7],\n        [12]], dtype=int64)");
  EXPECT_EQ(scalar_tensor(3.25, {.dtype = DType::Float64}).str(), "tensor(3.2500, dtype=float64)");
  EXPECT_EQ(from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}).t().str(),
            "tensor([[1.0000, 4.0000],\n        [2.0000, 5.0000],\n        [3.0000, 6.0000]])");
}

TEST(TensorPrinting, LongDimensionsAndAutogradState) {
  EXPECT_EQ(arange(0, 10).str(), "tensor([0.0000, 1.0000, 2.0000, ..., 7.0000, 8.0000, 9.0000])");
  EXPECT_EQ(arange(0, 8, 1, {.dtype = DType::Int64}).reshape({8, 1}).str(),
            "tensor([[0],\n        [1],\n        [2],\n        ...,\n        [5],\n        [6],\n        [7]], dtype=int64)");
  EXPECT_EQ(arange(0, 8, 1, {.dtype = DType::Int64}).reshape({2, 2, 2}).str(),
            "tensor([[[0, 1],\n         [2, 3]],\n        [[4, 5],\n         [6, 7]]], dtype=int64)");
  Tensor x = from_vector<double>({1, 2}, {2}, true);
  EXPECT_EQ(x.str(), "tensor([1.0000, 2.0000], dtype=float64, requires_grad=true)");
  EXPECT_EQ((x * 2.0).str(), "tensor([2.0000, 4.0000], dtype=float64, grad_fn=<mul_scalar>)");
  std::ostringstream os;
  os << from_vector<float>({0.5f}, {1});
  EXPECT_EQ(os.str(), "tensor([0.5000])");
}

// --- gradient checks of every view op ---

TEST(TensorViewsGradCheck, ReshapeAndView) {
  const Tensor x = leaf({2, 3, 4}, 1);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].reshape({4, -1}); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].view({6, 4}); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].transpose(0, 1).view({3, 2, 2, 2}); }, {x}), kGradTolerance);
  // Non-contiguous: reshape copies, and the copy's gradient still reaches the leaf in the right places.
  EXPECT_LT(gradcheck([](auto& v) { return v[0].permute({2, 0, 1}).reshape({24}); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].reshape({1, 2, 1, 2}); }, {leaf({4}, 2)}), kGradTolerance);
}

TEST(TensorViewsGradCheck, FlattenTransposePermute) {
  const Tensor x = leaf({2, 3, 4}, 3);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].flatten(); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].flatten(1); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].transpose(0, 2).flatten(0, 1); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].transpose(-1, 0); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].t(); }, {leaf({3, 5}, 4)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].permute({1, 2, 0}); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].permute({2, 0, 1}).permute({0, 2, 1}); }, {x}), kGradTolerance);
}

TEST(TensorViewsGradCheck, SliceAndSelect) {
  const Tensor x = leaf({4, 5}, 5);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].slice(1, 1, 4); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].slice(1, 0, 5, 2); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].slice(0, -3, 4, 2).slice(1, 1, 5, 3); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].t().slice(0, 1, 5, 2); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].select(0, 2); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].select(1, -1); }, {x}), kGradTolerance);
  // Two overlapping slices of one leaf: the overlap gets both gradients.
  EXPECT_LT(gradcheck([](auto& v) { return v[0].slice(1, 0, 3) * v[0].slice(1, 2, 5); }, {x}), kGradTolerance);
}

TEST(TensorViewsGradCheck, SqueezeUnsqueezeExpand) {
  EXPECT_LT(gradcheck([](auto& v) { return v[0].unsqueeze(1); }, {leaf({3, 2}, 6)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].t().unsqueeze(-1); }, {leaf({3, 2}, 7)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].squeeze(1); }, {leaf({3, 1, 2}, 8)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].expand({2, 3, 4}); }, {leaf({3, 1}, 9)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].expand({3, 4}); }, {leaf({4}, 10)}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].unsqueeze(0).expand({5, 2, 3}); }, {leaf({2, 3}, 11)}), kGradTolerance);
}

TEST(TensorViewsGradCheck, ContiguousCloneAndDtype) {
  const Tensor x = leaf({3, 4}, 12);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].contiguous(); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].t().contiguous(); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].clone(); }, {x}), kGradTolerance);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].slice(1, 0, 4, 3).clone(); }, {x}), kGradTolerance);
  // Through float32 and back: values and steps that float32 holds exactly keep the finite differences exact.
  const Tensor exact = from_vector<double>({0.5, -0.25, 1.75, 3.0, -2.125, 0.0625}, {2, 3}, true);
  EXPECT_LT(gradcheck([](auto& v) { return v[0].to(DType::Float32).to(DType::Float64); }, {exact}, 1.0 / 1024),
            kGradTolerance);
}

TEST(TensorViews, DtypeConversionBackwardReturnsTheSourceDtype) {
  Tensor x = from_vector<double>({1, 2, 3}, {3}, true);
  Tensor y = x.to(DType::Float32);
  EXPECT_EQ(y.grad_fn()->name, "to_dtype");
  mul(y, from_vector<float>({2, 3, 4}, {3})).sum().backward();
  EXPECT_EQ(x.grad().dtype(), DType::Float64);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 3, 4}));
}
