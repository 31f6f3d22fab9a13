#include <lamina/nn/transformer.h>

#include <cmath>
#include <stdexcept>

#include <lamina/core/elementwise.h>
#include <lamina/core/linalg.h>
#include <lamina/core/softmax.h>

namespace lamina::nn {

MultiHeadAttention::MultiHeadAttention(std::int64_t d_model, std::int64_t heads)
    : d_model_(d_model),
      heads_(heads),
      qkv_(this, "qkv", 3 * d_model, LinearOptions{.in_features = d_model}),
      out_(this, "out", d_model, LinearOptions{.in_features = d_model}) {
  if (heads <= 0 || d_model % heads != 0)
    throw std::invalid_argument("MultiHeadAttention: d_model " + std::to_string(d_model) + " is not divisible by " +
                                std::to_string(heads) + " heads");
}

Tensor MultiHeadAttention::forward(const Tensor& x) {
  if (x.dim() != 3 || x.size(2) != d_model_)
    throw std::invalid_argument("MultiHeadAttention: expected [batch, sequence, " + std::to_string(d_model_) +
                                "], got " + shape_str(x.shape()));
  const std::int64_t b = x.size(0), s = x.size(1), hd = d_model_ / heads_;
  // [b, s, 3, heads, hd] -> three [b, heads, s, hd]
  const Tensor qkv = qkv_(x).view({b, s, 3, heads_, hd}).permute({2, 0, 3, 1, 4});
  const Tensor q = qkv.select(0, 0), k = qkv.select(0, 1), v = qkv.select(0, 2);
  const Tensor scores = matmul(q, k.transpose(-1, -2)) * (1.0 / std::sqrt(static_cast<double>(hd)));
  const Tensor context = matmul(softmax(scores, -1), v);  // [b, heads, s, hd]
  return out_(context.permute({0, 2, 1, 3}).reshape({b, s, d_model_}));
}

std::string MultiHeadAttention::extra_repr() const {
  return "d_model=" + std::to_string(d_model_) + ", heads=" + std::to_string(heads_);
}

TransformerEncoderLayer::TransformerEncoderLayer(TransformerOptions o)
    : attention_(this, "attention", o.d_model, o.heads),
      dropout1_(this, "dropout1", o.dropout),
      norm1_(this, "norm1", Shape{o.d_model}),
      ff1_(this, "ff1", o.d_ff, LinearOptions{.in_features = o.d_model, .activation = Activation::GELU}),
      ff2_(this, "ff2", o.d_model, LinearOptions{.in_features = o.d_ff}),
      dropout2_(this, "dropout2", o.dropout),
      norm2_(this, "norm2", Shape{o.d_model}) {}

Tensor TransformerEncoderLayer::forward(const Tensor& x) {
  const Tensor h = norm1_(x + dropout1_(attention_(x)));
  return norm2_(h + dropout2_(ff2_(ff1_(h))));
}

TransformerEncoder::TransformerEncoder(std::int64_t num_layers, TransformerOptions options) : layers_(this, "layers") {
  for (std::int64_t i = 0; i < num_layers; ++i) layers_->push_back(TransformerEncoderLayer(options));
}

Tensor TransformerEncoder::forward(const Tensor& x) {
  Tensor h = x;
  for (const auto& layer : *layers_) h = (*layer)(h);
  return h;
}

}  // namespace lamina::nn
