#pragma once
// Gradient checking against central finite differences, in float64. The output is projected onto fixed random
// weights (loss = sum(w * f(x))) so that every output element's gradient is checked, not just their sum.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <lamina/lamina.h>

namespace lamina::testing {

using Function = std::function<Tensor(const std::vector<Tensor>&)>;

// Checks d(sum(w * f(inputs)))/d(input) for every floating input that requires grad. Returns the largest
// relative error |analytic - numeric| / max(1, |numeric|) seen.
inline double gradcheck(const Function& f, std::vector<Tensor> inputs, double eps = 1e-6) {
  for (const Tensor& t : inputs)
    if (t.requires_grad() && t.dtype() != DType::Float64) ADD_FAILURE() << "gradcheck needs float64 inputs";
  Generator gen(1234);
  Tensor out0 = f(inputs);
  const Tensor weights = rand(out0.shape(), {.dtype = DType::Float64}, 0.5, 1.5, &gen);
  auto loss = [&](const std::vector<Tensor>& xs) { return sum(mul(f(xs), weights)); };

  for (Tensor& t : inputs)
    if (t.requires_grad()) t.set_grad(Tensor());
  loss(inputs).backward();

  double worst = 0;
  for (Tensor& t : inputs) {
    if (!t.requires_grad()) continue;
    const Tensor analytic = t.grad().defined() ? t.grad().contiguous() : zeros_like(t);
    EXPECT_EQ(analytic.shape(), t.shape());
    double* x = t.data<double>();  // inputs are contiguous leaves
    const double* a = analytic.data<double>();
    NoGradGuard no_grad;
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      const double saved = x[i];
      x[i] = saved + eps;
      const double up = loss(inputs).item();
      x[i] = saved - eps;
      const double down = loss(inputs).item();
      x[i] = saved;
      const double numeric = (up - down) / (2 * eps);
      const double err = std::abs(a[i] - numeric) / std::max(1.0, std::abs(numeric));
      worst = std::max(worst, err);
    }
  }
  return worst;
}

// A float64 leaf with values in [lo, hi) that requires grad.
inline Tensor leaf(const Shape& shape, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Generator gen(seed);
  return rand(shape, {.dtype = DType::Float64}, lo, hi, &gen).requires_grad_();
}

constexpr double kGradTolerance = 1e-6;

}  // namespace lamina::testing
