#include <lamina/nn/sgd.h>

#include <stdexcept>

#include <lamina/core/autograd.h>
#include <lamina/core/parallel.h>
#include <lamina/nn/update_rules.h>

namespace lamina::nn {
namespace {

// rules::Sgd with momentum over n elements, for one setting of first step / Nesterov.
template <typename T, bool kFirst, bool kNesterov>
void momentum_update(T* __restrict p, const T* __restrict g, T* __restrict buf, std::int64_t n, T lr, T weight_decay,
                     T momentum, T undamped) {
#pragma omp parallel for simd if (n > kParallelGrain)
  for (std::int64_t i = 0; i < n; ++i)
    rules::Sgd::with_momentum<kFirst, kNesterov>(p[i], g[i], buf[i], lr, weight_decay, momentum, undamped);
}

}  // namespace

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
      const std::int64_t n = p.numel();
      const T lr = static_cast<T>(lr_), wd = static_cast<T>(options_.weight_decay);
      if (!with_momentum) {
#pragma omp parallel for simd if (n > kParallelGrain)
        for (std::int64_t i = 0; i < n; ++i) rules::Sgd::plain(pp[i], pg[i], lr, wd);
        return;
      }
      const T momentum = static_cast<T>(options_.momentum), undamped = static_cast<T>(1 - options_.dampening);
      const auto update = first ? (options_.nesterov ? momentum_update<T, true, true> : momentum_update<T, true, false>)
                                : (options_.nesterov ? momentum_update<T, false, true> : momentum_update<T, false, false>);
      update(pp, pg, buf.data<T>(), n, lr, wd, momentum, undamped);
    });
  }
  ++steps_;
}

}  // namespace lamina::nn
