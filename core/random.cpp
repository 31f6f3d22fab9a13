#include <lamina/core/random.h>

#include <cmath>
#include <numbers>
#include <stdexcept>

#include <lamina/core/parallel.h>

namespace lamina {

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

void manual_seed(std::uint64_t seed) { default_generator().manual_seed(seed); }

namespace {
Tensor finish(Tensor t, const TensorOptions& options) {
  if (!options.device.is_cpu()) t = t.to(options.device);
  if (options.requires_grad) t.requires_grad_(true);
  return t;
}
}  // namespace

Tensor rand(const Shape& shape, TensorOptions options, double lo, double hi, Generator* gen) {
  if (!is_floating(options.dtype)) throw std::invalid_argument(std::string("rand: dtype must be floating, got ") + dtype_name(options.dtype));
  Generator& g = gen ? *gen : default_generator();
  Tensor t = Tensor::empty(shape, {.dtype = options.dtype});
  const std::int64_t n = t.numel();
  const std::uint64_t first = g.advance(static_cast<std::uint64_t>(n));
  const std::uint64_t seed = g.seed();
  dispatch(options.dtype, [&]<typename T>() {
    T* p = t.data<T>();
#pragma omp parallel for if (n > kParallelGrain)
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(lo + (hi - lo) * Philox::uniform(seed, first + i));
  });
  return finish(t, options);
}

Tensor randn(const Shape& shape, TensorOptions options, double mean, double stddev, Generator* gen) {
  if (!is_floating(options.dtype)) throw std::invalid_argument(std::string("randn: dtype must be floating, got ") + dtype_name(options.dtype));
  Generator& g = gen ? *gen : default_generator();
  Tensor t = Tensor::empty(shape, {.dtype = options.dtype});
  const std::int64_t n = t.numel();
  // Box-Muller: element i uses draws 2i and 2i+1.
  const std::uint64_t first = g.advance(2 * static_cast<std::uint64_t>(n));
  const std::uint64_t seed = g.seed();
  dispatch(options.dtype, [&]<typename T>() {
    T* p = t.data<T>();
#pragma omp parallel for if (n > kParallelGrain)
    for (std::int64_t i = 0; i < n; ++i) {
      const double u1 = 1.0 - Philox::uniform(seed, first + 2 * i);  // in (0, 1]: log is finite
      const double u2 = Philox::uniform(seed, first + 2 * i + 1);
      p[i] = static_cast<T>(mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2));
    }
  });
  return finish(t, options);
}

Tensor randperm(std::int64_t n, Generator* gen) {
  if (n < 0) throw std::invalid_argument("randperm: n must be non-negative, got " + std::to_string(n));
  Generator& g = gen ? *gen : default_generator();
  Tensor t = Tensor::empty({n}, {.dtype = DType::Int64});
  std::int64_t* p = t.data<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) p[i] = i;
  // Fisher-Yates with one counter per swap.
  const std::uint64_t first = g.advance(static_cast<std::uint64_t>(n));
  const std::uint64_t seed = g.seed();
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(Philox::uniform(seed, first + i) * static_cast<double>(i + 1));
    std::swap(p[i], p[std::min(j, i)]);
  }
  return t;
}

}  // namespace lamina
