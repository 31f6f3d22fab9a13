#include <lamina/nn/init.h>

#include <cmath>
#include <stdexcept>

namespace lamina::nn {

std::pair<std::int64_t, std::int64_t> fan_in_and_out(const Shape& shape) {
  if (shape.empty()) throw std::invalid_argument("fan_in_and_out: a scalar has no fan-in");
  if (shape.size() == 1) return {shape[0], shape[0]};
  std::int64_t receptive = 1;
  for (std::size_t i = 2; i < shape.size(); ++i) receptive *= shape[i];
  return {shape[1] * receptive, shape[0] * receptive};
}

namespace init {

Initializer uniform(double lo, double hi) {
  return [lo, hi](Tensor& t, Generator& gen) { t.copy_(rand(t.shape(), {.dtype = t.dtype()}, lo, hi, &gen)); };
}

Initializer normal(double mean, double stddev) {
  return [mean, stddev](Tensor& t, Generator& gen) { t.copy_(randn(t.shape(), {.dtype = t.dtype()}, mean, stddev, &gen)); };
}

Initializer constant(double value) {
  return [value](Tensor& t, Generator&) { t.fill_(value); };
}

Initializer xavier_uniform(double gain) {
  return [gain](Tensor& t, Generator& gen) {
    const auto [fan_in, fan_out] = fan_in_and_out(t.shape());
    const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
    uniform(-bound, bound)(t, gen);
  };
}

Initializer kaiming_normal(double gain) {
  return [gain](Tensor& t, Generator& gen) {
    const double stddev = gain / std::sqrt(static_cast<double>(fan_in_and_out(t.shape()).first));
    normal(0.0, stddev)(t, gen);
  };
}

Initializer uniform_fan_in(std::int64_t fan_in) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  return uniform(-bound, bound);
}

}  // namespace init
}  // namespace lamina::nn
