#include <gtest/gtest.h>

#include <lamina/lamina.h>

using namespace lamina;

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

TEST(Autograd, SharedLeafAccumulatesBothPaths) {
  Tensor x = from_vector<double>({1, 2, 3}, {3}, true);
  Tensor y = (x * x + x * 3.0).sum();
  y.backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{5, 7, 9}));
}

TEST(Autograd, WhileLoopOnTensorValues) {
  Tensor x = from_vector<double>({3, -4}, {2}, true);
  Tensor y = x * 1.0;
  int halvings = 0;
  while (y.abs().sum().item() > 1) {
    y = y / 2;
    ++halvings;
  }
  y.sum().backward();
  EXPECT_EQ(halvings, 3);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0.125, 0.125}));
}
