#pragma once
// Parameter initializers. Each fills a tensor in place (not recorded by autograd) from a Generator, so that a
// seed fixes a model's initial weights.
#include <functional>

#include <lamina/core/random.h>
#include <lamina/core/tensor.h>

namespace lamina::nn {

// An initializer: fills `t`, whose fan-in/fan-out follow from its shape.
using Initializer = std::function<void(Tensor& t, Generator& gen)>;

namespace init {
// U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)).
Initializer xavier_uniform(double gain = 1.0);
// N(0, std) with std = gain / sqrt(fan_in) (He/Kaiming for ReLU with gain sqrt(2)).
Initializer kaiming_normal(double gain = 1.4142135623730951);
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for Linear and Conv2d weights and biases.
Initializer uniform_fan_in(std::int64_t fan_in);
Initializer normal(double mean, double stddev);
Initializer uniform(double lo, double hi);
Initializer constant(double value);
}  // namespace init

// (fan_in, fan_out) of a weight of shape [out, in, k...].
std::pair<std::int64_t, std::int64_t> fan_in_and_out(const Shape& shape);

}  // namespace lamina::nn
