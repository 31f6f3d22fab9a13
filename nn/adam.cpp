#include <lamina/nn/adam.h>

#include <cmath>
#include <stdexcept>

#include <lamina/core/autograd.h>
#include <lamina/core/parallel.h>
#include <lamina/nn/update_rules.h>

namespace lamina::nn {

Adam::Adam(NamedParameters parameters, AdamOptions options) : Adam(std::move(parameters), options, false) {}

Adam::Adam(NamedParameters parameters, AdamOptions options, bool decoupled)
    : Optimizer(std::move(parameters), options.lr), options_(options), decoupled_(decoupled) {
  if (options.beta1 < 0 || options.beta1 >= 1 || options.beta2 < 0 || options.beta2 >= 1)
    throw std::invalid_argument("Adam: betas must be in [0, 1), got " + std::to_string(options.beta1) + ", " +
                                std::to_string(options.beta2));
}

std::vector<std::pair<std::string, double*>> Adam::hyperparameters() {
  return {{"lr", &lr_}, {"beta1", &options_.beta1}, {"beta2", &options_.beta2}, {"eps", &options_.eps},
          {"weight_decay", &options_.weight_decay}};
}

void Adam::step() {
  NoGradGuard no_grad;
  const double t = static_cast<double>(steps_ + 1);
  const rules::Adam rule{lr_, options_.beta1, options_.beta2, options_.eps, options_.weight_decay,
                         1 - std::pow(options_.beta1, t), 1 - std::pow(options_.beta2, t), decoupled_};
  for (auto& [name, p] : parameters_) {
    if (p.is_deferred() || !p.grad().defined()) continue;
    const Tensor g = p.grad().contiguous();
    Tensor m = state("exp_avg", name, p);
    Tensor v = state("exp_avg_sq", name, p);
    if (!p.device().is_cpu()) {
      rules::apply_with_ops(rule, p, g, m, v);
      continue;
    }
    dispatch_floating(p.dtype(), "Adam::step", [&]<typename T>() {
      T* pp = p.data<T>();
      const T* pg = g.data<T>();
      T* pm = m.data<T>();
      T* pv = v.data<T>();
      const std::int64_t n = p.numel();
#pragma omp parallel for if (n > kParallelGrain)
      for (std::int64_t i = 0; i < n; ++i) rule(pp[i], pg[i], pm[i], pv[i]);
    });
  }
  ++steps_;
}

}  // namespace lamina::nn
