#pragma once
// Finite-difference checks of a whole module's gradients, with respect to its parameters and its input.
// The module must be in float64 (module.to(DType::Float64)).
#include <gtest/gtest.h>

#include <cmath>

#include <lamina/lamina.h>

namespace lamina::testing {

// Returns the largest relative error between backward's gradients and central differences of
// loss = sum(weights * module(x)), over every parameter element (at most `per_tensor` elements per tensor, spread
// evenly) and every element of x when x requires grad.
inline double module_gradcheck(nn::Module& module, Tensor x, int per_tensor = 24, double eps = 1e-6) {
  Generator gen(99);
  const Tensor weights = rand(module(x).shape(), {.dtype = DType::Float64}, 0.5, 1.5, &gen);
  auto loss = [&] { return sum(mul(module(x), weights)); };
  module.zero_grad();
  if (x.requires_grad()) x.set_grad(Tensor());
  loss().backward();

  std::vector<Tensor> checked = module.parameters();
  if (x.requires_grad()) checked.push_back(x);
  double worst = 0;
  NoGradGuard no_grad;
  for (Tensor& t : checked) {
    const Tensor analytic = t.grad().defined() ? t.grad().contiguous() : zeros_like(t);
    double* p = t.data<double>();
    const std::int64_t n = t.numel();
    const std::int64_t step = std::max<std::int64_t>(1, n / per_tensor);
    for (std::int64_t i = 0; i < n; i += step) {
      const double saved = p[i];
      p[i] = saved + eps;
      const double up = loss().item();
      p[i] = saved - eps;
      const double down = loss().item();
      p[i] = saved;
      const double numeric = (up - down) / (2 * eps);
      worst = std::max(worst, std::abs(analytic.data<double>()[i] - numeric) / std::max(1.0, std::abs(numeric)));
    }
  }
  return worst;
}

}  // namespace lamina::testing
