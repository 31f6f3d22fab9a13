#include <lamina/core/dropout.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <lamina/core/autograd.h>
#include <lamina/core/checks.h>
#include <lamina/core/cuda_kernels.h>
#include <lamina/core/functors.h>
#include <lamina/core/parallel.h>

namespace lamina {
namespace {

// y[i] = mask(x[i], draw i), where draw i is Philox::draw(seed, first_counter, i) (the CUDA kernel calls it per
// element; here each counter's four words are used at once). The backward regenerates the same draws instead of
// keeping a mask tensor alive between forward and backward.
template <typename T>
void apply_mask(const T* x, T* y, std::int64_t n, std::uint64_t seed, std::uint64_t first_counter, functors::Dropout mask) {
  const std::int64_t blocks = (n + 3) / 4;
#pragma omp parallel for if (n > kParallelGrain)
  for (std::int64_t b = 0; b < blocks; ++b) {
    std::uint32_t draws[4];
    Philox::generate(seed, first_counter + static_cast<std::uint64_t>(b), draws);
    const std::int64_t end = std::min<std::int64_t>(4, n - 4 * b);
    for (std::int64_t k = 0; k < end; ++k) y[4 * b + k] = mask(x[4 * b + k], draws[k]);
  }
}

Tensor masked(const Tensor& x, std::uint64_t seed, std::uint64_t first_counter, functors::Dropout mask) {
  const Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), {.dtype = x.dtype(), .device = x.device()});
  if (x.device().is_cuda()) {
    cuda_kernel(&CudaKernels::dropout, x, "dropout")(xc, out, seed, first_counter, mask);
    return out;
  }
  dispatch_floating(x.dtype(), "dropout", [&]<typename T>() {
    apply_mask<T>(xc.data<T>(), out.data<T>(), x.numel(), seed, first_counter, mask);
  });
  return out;
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  check_defined(x, "dropout");
  check_floating(x, "dropout");
  if (!(p >= 0.0 && p <= 1.0))
    throw std::invalid_argument("dropout: probability p must be in [0, 1], got " + std::to_string(p) + " (input " +
                                describe(x) + ")");
  if (!training || p == 0.0) return x;
  Generator& g = gen ? *gen : default_generator();
  // Reserving n + 3 draws leaves room to start at a whole Philox counter (4 draws) wherever the offset stands.
  const auto n = static_cast<std::uint64_t>(x.numel());
  const std::uint64_t first_counter = (g.advance(n + 3) + 3) / 4;
  const std::uint64_t seed = g.seed();
  // Keep where draw / 2^32 >= p, i.e. draw >= ceil(p * 2^32); p == 1 gives 2^32, which no draw reaches.
  const functors::Dropout mask{static_cast<std::uint64_t>(std::ceil(p * 4294967296.0)), p == 1.0 ? 0.0 : 1.0 / (1.0 - p)};
  Tensor out = masked(x.detach(), seed, first_counter, mask);
  if (autograd::needs_grad({&x})) {
    // Dropout is linear in x: its backward applies the same mask to the gradient.
    autograd::record("dropout", out, {x}, [seed, first_counter, mask](const Tensor& grad) -> std::vector<Tensor> {
      return {masked(grad, seed, first_counter, mask)};
    });
  }
  return out;
}

}  // namespace lamina
