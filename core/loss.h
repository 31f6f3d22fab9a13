#pragma once
// Loss functions. Each reduces its per-element (or per-sample) losses as asked: Mean (the default), Sum, or None
// (the unreduced losses, one per sample or element).
#include <lamina/core/tensor.h>

namespace lamina {

enum class Reduction { None, Mean, Sum };

// Cross entropy of logits [N, C] against int64 class labels [N] in [0, C): log-softmax and negative log-likelihood
// fused into one pass (stable for any logits), with backward softmax(logits) - onehot(labels).
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, Reduction reduction = Reduction::Mean);
// Negative log-likelihood of log-probabilities [N, C] (e.g. from log_softmax) against int64 labels [N].
Tensor nll_loss(const Tensor& log_probs, const Tensor& labels, Reduction reduction = Reduction::Mean);
// (pred - target)^2 over two tensors of the same shape; differentiable in both.
Tensor mse_loss(const Tensor& pred, const Tensor& target, Reduction reduction = Reduction::Mean);

}  // namespace lamina
