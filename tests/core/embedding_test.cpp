#include <gtest/gtest.h>

#include <lamina/core/embedding.h>

#include "core/gradcheck.h"

using namespace lamina;
using lamina::testing::gradcheck;
using lamina::testing::kGradTolerance;
using lamina::testing::leaf;

namespace {
Tensor indices(const std::vector<std::int64_t>& v, const Shape& shape) { return from_vector<std::int64_t>(v, shape); }
}  // namespace

TEST(EmbeddingGradCheck, RepeatedIndices) {
  const Tensor idx = indices({1, 4, 1, 0, 4, 4}, {2, 3});
  EXPECT_LT(gradcheck([&](auto& x) { return embedding(idx, x[0]); }, {leaf({5, 3}, 1)}), kGradTolerance);
}

TEST(Embedding, GathersRows) {
  const Tensor w = from_vector<float>({0, 1, 10, 11, 20, 21, 30, 31}, {4, 2});
  const Tensor out = embedding(indices({3, 0, 3, 2}, {2, 2}), w);
  EXPECT_EQ(out.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(out.to_vector<float>(), (std::vector<float>{30, 31, 0, 1, 30, 31, 20, 21}));
  EXPECT_EQ(embedding(indices({1}, {}), w).to_vector<float>(), (std::vector<float>{10, 11}));  // 0-d index: one row
  EXPECT_EQ(embedding(indices({1, 2}, {2}), w.t().contiguous().t()).to_vector<float>(),
            (std::vector<float>{10, 11, 20, 21}));  // a non-contiguous weight
}

TEST(Embedding, RepeatedIndicesAccumulateGradient) {
  Tensor w = ones({5, 2}).requires_grad_();
  const Tensor out = embedding(indices({1, 1, 3, 1}, {4}), w);
  out.backward(from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8}, {4, 2}));
  EXPECT_EQ(w.grad().to_vector<float>(), (std::vector<float>{0, 0, 1 + 3 + 7, 2 + 4 + 8, 0, 0, 5, 6, 0, 0}));
}

TEST(Embedding, LargeLookupMatchesRowCopies) {
  Generator gen(6);
  const Tensor w = randn({1000, 64}, {}, 0, 1, &gen);
  std::vector<std::int64_t> v(2048);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::int64_t>((i * 37) % 1000);
  const std::vector<float> out = embedding(indices(v, {2048}), w).to_vector<float>();
  const std::vector<float> table = w.to_vector<float>();
  for (std::size_t i = 0; i < v.size(); ++i)
    for (std::size_t k = 0; k < 64; ++k) ASSERT_EQ(out[i * 64 + k], table[v[i] * 64 + k]);
}

TEST(Embedding, OutOfRangeIndexNamesIndexAndV) {
  for (std::int64_t bad : {5, 7, -1}) {
    try {
      embedding(indices({0, bad, 2}, {3}), zeros({5, 3}));
      FAIL() << "expected an exception";
    } catch (const std::out_of_range& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("embedding"), std::string::npos) << msg;
      EXPECT_NE(msg.find("index " + std::to_string(bad)), std::string::npos) << msg;
      EXPECT_NE(msg.find("V = 5"), std::string::npos) << msg;
    }
  }
}

TEST(Embedding, BadTypesAndShapes) {
  try {
    embedding(zeros({3}), zeros({5, 3}));
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("int64"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("float32 [3]"), std::string::npos) << e.what();
  }
  try {
    embedding(indices({0}, {1}), zeros({5}));
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("[V, D]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("float32 [5]"), std::string::npos) << e.what();
  }
}
