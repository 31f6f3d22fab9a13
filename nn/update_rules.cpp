#include <lamina/nn/update_rules.h>

#include <lamina/core/elementwise.h>

namespace lamina::nn::rules {

void apply_with_ops(const Sgd& rule, Tensor& p, const Tensor& grad, Tensor& buf) {
  Tensor g = rule.weight_decay != 0 ? add(grad, mul(p, rule.weight_decay)) : grad;
  if (rule.momentum != 0) {
    if (rule.first_step) {
      buf.copy_(g);
    } else {
      buf.mul_(rule.momentum);
      buf.add_(g, 1 - rule.dampening);
    }
    g = rule.nesterov ? add(g, mul(buf, rule.momentum)) : buf;
  }
  p.add_(g, -rule.lr);
}

void apply_with_ops(const Adam& rule, Tensor& p, const Tensor& grad, Tensor& m, Tensor& v) {
  Tensor g = grad;
  if (rule.decoupled) p.add_(p, -rule.lr * rule.weight_decay);
  else if (rule.weight_decay != 0) g = add(grad, mul(p, rule.weight_decay));
  m.mul_(rule.beta1);
  m.add_(g, 1 - rule.beta1);
  v.mul_(rule.beta2);
  v.add_(mul(g, g), 1 - rule.beta2);
  const Tensor denom = add(sqrt(div(v, rule.bias2)), rule.eps);
  p.add_(div(m, denom), -rule.lr / rule.bias1);
}

}  // namespace lamina::nn::rules
