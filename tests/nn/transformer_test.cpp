#include <gtest/gtest.h>

#include <lamina/lamina.h>
#include <lamina/nn/transformer.h>

#include "nn/module_gradcheck.h"

using namespace lamina;
using lamina::testing::module_gradcheck;

TEST(Transformer, StackOfBlocksKeepsShapeAndNamesLayers) {
  nn::TransformerEncoder encoder(3, {.d_model = 16, .heads = 4, .d_ff = 32});
  EXPECT_EQ(encoder(rand({2, 5, 16})).shape(), (Shape{2, 5, 16}));
  const auto params = encoder.named_parameters();
  EXPECT_EQ(params.size(), 3u * 12u);  // per layer: qkv, out, two norms, two feed-forward Linears; weight and bias each
  EXPECT_EQ(params.front().first, "layers.0.attention.qkv.weight");
  EXPECT_EQ(params.back().first, "layers.2.norm2.bias");
}

TEST(TransformerGradCheck, EncoderLayer) {
  nn::TransformerEncoder encoder(2, {.d_model = 8, .heads = 2, .d_ff = 12, .dropout = 0.0});
  encoder.to(DType::Float64);
  Tensor x = rand({2, 3, 8}, {.dtype = DType::Float64}).requires_grad_();
  EXPECT_LT(module_gradcheck(encoder, x), 1e-6);
}

TEST(Transformer, AttentionIsPermutationEquivariant) {
  // Self-attention without positions: permuting the sequence permutes the output the same way.
  nn::MultiHeadAttention attention(8, 2);
  attention.to(DType::Float64);
  const Tensor x = rand({1, 4, 8}, {.dtype = DType::Float64});
  const Tensor perm = from_vector<std::int64_t>({2, 0, 3, 1}, {4});
  const Tensor a = index_select(attention(x), 1, perm);
  const Tensor b = attention(index_select(x, 1, perm));
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (std::size_t i = 0; i < va.size(); ++i) EXPECT_NEAR(va[i], vb[i], 1e-12);
}
