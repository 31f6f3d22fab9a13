#pragma once
// The per-element update formulas of the optimizers, written once for the CPU loops and CUDA kernels
// (LAMINA_HD, as core/functors.h). Each updates one parameter element and its state in place.
#include <cmath>

#include <lamina/core/functors.h>
#include <lamina/core/tensor.h>

namespace lamina::nn::rules {

// PyTorch's SGD: g += wd·p; buf = momentum·buf + (1 − dampening)·g (buf = g at the first step);
// g = nesterov ? g + momentum·buf : buf; p −= lr·g.
struct Sgd {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, first_step;
  template <typename T> LAMINA_HD void operator()(T& p, T g, T& buf) const {
    if (momentum == 0) return plain(p, g, T(lr), T(weight_decay));
    const auto step = first_step ? (nesterov ? with_momentum<true, true, T> : with_momentum<true, false, T>)
                                 : (nesterov ? with_momentum<false, true, T> : with_momentum<false, false, T>);
    step(p, g, buf, T(lr), T(weight_decay), T(momentum), T(1 - dampening));
  }

  // The rule for one setting, the settings passed in: a loop over many elements calls these, and the compiler
  // vectorizes it (with operator()'s branches on the settings inside, GCC left the loop scalar, 2-5x slower).
  template <typename T> LAMINA_HD static void plain(T& p, T g, T lr, T weight_decay) { p -= lr * (g + weight_decay * p); }
  template <bool kFirst, bool kNesterov, typename T>
  LAMINA_HD static void with_momentum(T& p, T g, T& buf, T lr, T weight_decay, T momentum, T undamped) {
    const T d = g + weight_decay * p;
    buf = kFirst ? d : momentum * buf + undamped * d;
    p -= lr * (kNesterov ? d + momentum * buf : buf);
  }
};

// Adam (decoupled = false: L2 added to the gradient) and AdamW (decoupled = true: p −= lr·wd·p first).
// bias1 = 1 − β1^t and bias2 = 1 − β2^t are computed once per step by the caller.
struct Adam {
  double lr, beta1, beta2, eps, weight_decay, bias1, bias2;
  bool decoupled;
  template <typename T> LAMINA_HD void operator()(T& p, T g, T& m, T& v) const {
    if (decoupled) p -= T(lr * weight_decay) * p;
    else g += T(weight_decay) * p;
    m = T(beta1) * m + T(1 - beta1) * g;
    v = T(beta2) * v + T(1 - beta2) * g * g;
    const T denom = std::sqrt(v / T(bias2)) + T(eps);
    p -= T(lr / bias1) * m / denom;
  }
};

// The same updates as whole-tensor ops, for parameters whose memory the host loops cannot touch (CUDA tensors):
// each op runs on the parameter's device. Tested against the element rules above on the CPU.
void apply_with_ops(const Sgd& rule, Tensor& p, const Tensor& g, Tensor& buf);
void apply_with_ops(const Adam& rule, Tensor& p, const Tensor& g, Tensor& m, Tensor& v);

}  // namespace lamina::nn::rules
