#pragma once
// A Transformer encoder: multi-head self-attention and a feed-forward block, each wrapped in a residual
// connection with LayerNorm (post-norm, as in "Attention Is All You Need" and PyTorch's default), stacked N times.
// Input and output are [batch, sequence, d_model].
#include <cstdint>

#include <lamina/nn/dropout.h>
#include <lamina/nn/layer_norm.h>
#include <lamina/nn/linear.h>
#include <lamina/nn/module.h>
#include <lamina/nn/module_list.h>

namespace lamina::nn {

class MultiHeadAttention : public Module {
 public:
  MultiHeadAttention(std::int64_t d_model, std::int64_t heads);
  Tensor forward(const Tensor& x) override;  // self-attention
  std::string type_name() const override { return "MultiHeadAttention"; }
  std::string extra_repr() const override;

 private:
  std::int64_t d_model_, heads_;
  Child<Linear> qkv_;  // the three projections in one GEMM: [d_model] -> [3 * d_model]
  Child<Linear> out_;
};

struct TransformerOptions {
  std::int64_t d_model = 64;
  std::int64_t heads = 4;
  std::int64_t d_ff = 256;
  double dropout = 0.1;
};

class TransformerEncoderLayer : public Module {
 public:
  explicit TransformerEncoderLayer(TransformerOptions options);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "TransformerEncoderLayer"; }

 private:
  Child<MultiHeadAttention> attention_;
  Child<Dropout> dropout1_;
  Child<LayerNorm> norm1_;
  Child<Linear> ff1_;
  Child<Linear> ff2_;
  Child<Dropout> dropout2_;
  Child<LayerNorm> norm2_;
};

// N identical (in shape, not in weights) encoder layers.
class TransformerEncoder : public Module {
 public:
  TransformerEncoder(std::int64_t num_layers, TransformerOptions options);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "TransformerEncoder"; }

 private:
  Child<ModuleList> layers_;
};

}  // namespace lamina::nn
