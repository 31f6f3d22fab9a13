#include <lamina/nn/sgd.h>

#include <stdexcept>

#include <lamina/core/autograd.h>
#include <lamina/core/parallel.h>
#include <lamina/nn/update_rules.h>

namespace lamina::nn {

SGD::SGD(NamedParameters parameters, SgdOptions options) : Optimizer(std::move(parameters), options.lr), options_(options) {
  if (options.momentum < 0) throw std::invalid_argument("SGD: momentum must be non-negative");
  if (options.nesterov && (options.momentum <= 0 || options.dampening != 0))
    throw std::invalid_argument("SGD: Nesterov momentum needs momentum > 0 and dampening 0");
}

std::vector<std::pair<std::string, double*>> SGD::hyperparameters() {
  return {{"lr", &lr_}, {"momentum", &options_.momentum}, {"dampening", &options_.dampening},
          {"weight_decay", &options_.weight_decay}};
}

void SGD::step() {
  NoGradGuard no_grad;
  for (auto& [name, p] : parameters_) {
    if (p.is_deferred() || !p.grad().defined()) continue;
    const Tensor g = p.grad().contiguous();
    const bool with_momentum = options_.momentum != 0;
    const bool first = with_momentum && !has_state("momentum_buffer", name);
    Tensor buf = with_momentum ? state("momentum_buffer", name, p) : Tensor();
    const rules::Sgd rule{lr_, options_.momentum, options_.dampening, options_.weight_decay, options_.nesterov, first};
    if (!p.device().is_cpu()) {
      rules::apply_with_ops(rule, p, g, buf);
      continue;
    }
    dispatch_floating(p.dtype(), "SGD::step", [&]<typename T>() {
      T* pp = p.data<T>();
      const T* pg = g.data<T>();
      T* pb = with_momentum ? buf.data<T>() : nullptr;
      const std::int64_t n = p.numel();
      if (pb) {
        // Each thread's own copy of the rule: through the shared one, GCC reloaded and re-tested the settings for
        // every element and left the loop scalar (6.5% of a default-recipe MLP epoch).
#pragma omp parallel for simd if (n > kParallelGrain) firstprivate(rule)
        for (std::int64_t i = 0; i < n; ++i) rule(pp[i], pg[i], pb[i]);
      } else {
        // Plain SGD, the rule without momentum, written out: GCC left the general rule's loop scalar (its
        // branches on the settings), ~5x slower than this one.
        const T lr = static_cast<T>(lr_), wd = static_cast<T>(options_.weight_decay);
#pragma omp parallel for simd if (n > kParallelGrain)
        for (std::int64_t i = 0; i < n; ++i) pp[i] -= lr * (pg[i] + wd * pp[i]);
      }
    });
  }
  ++steps_;
}

}  // namespace lamina::nn
