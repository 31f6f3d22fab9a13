#pragma once
// Seeded random numbers. The generator is counter-based (Philox 4x32-10): its whole state is (seed, offset), so
// saving and restoring it is exact and cheap, and element i of a draw depends only on (seed, offset + i) — the
// same numbers on any thread count or device.
#include <cstdint>

#include <lamina/core/functors.h>
#include <lamina/core/tensor.h>

namespace lamina {

struct GeneratorState {
  std::uint64_t seed = 0;
  std::uint64_t offset = 0;  // counters consumed so far
  friend bool operator==(const GeneratorState&, const GeneratorState&) = default;
};

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) : state_{seed, 0} {}
  void manual_seed(std::uint64_t seed) { state_ = {seed, 0}; }
  GeneratorState state() const { return state_; }
  void set_state(const GeneratorState& s) { state_ = s; }
  // Reserves `n` counters and returns the first; draws use counters [first, first + n).
  std::uint64_t advance(std::uint64_t n) {
    const std::uint64_t first = state_.offset;
    state_.offset += n;
    return first;
  }
  std::uint64_t seed() const { return state_.seed; }

 private:
  GeneratorState state_;
};

// The process-wide generator that factories use when none is given.
Generator& default_generator();
void manual_seed(std::uint64_t seed);

// Philox 4x32-10: four 32-bit random words for a 128-bit counter under a 64-bit key.
struct Philox {
  LAMINA_HD static void round(std::uint32_t c[4], std::uint32_t k[2]) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(0xD2511F53u) * c[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(0xCD9E8D57u) * c[2];
    const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
    const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
    const std::uint32_t n0 = hi1 ^ c[1] ^ k[0], n2 = hi0 ^ c[3] ^ k[1];
    c[0] = n0; c[1] = lo1; c[2] = n2; c[3] = lo0;
    k[0] += 0x9E3779B9u;
    k[1] += 0xBB67AE85u;
  }
  // The four words for counter `counter` (counter i yields draws 4i..4i+3).
  LAMINA_HD static void generate(std::uint64_t seed, std::uint64_t counter, std::uint32_t out[4]) {
    std::uint32_t c[4] = {static_cast<std::uint32_t>(counter), static_cast<std::uint32_t>(counter >> 32), 0, 0};
    std::uint32_t k[2] = {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
    for (int r = 0; r < 10; ++r) round(c, k);
    for (int i = 0; i < 4; ++i) out[i] = c[i];
  }
  // Draw `index` of the stream that starts at Philox counter `first_counter` (word index % 4 of counter
  // first_counter + index / 4): what dropout masks element `index` with, on the CPU and in the CUDA kernel.
  LAMINA_HD static std::uint32_t draw(std::uint64_t seed, std::uint64_t first_counter, std::uint64_t index) {
    std::uint32_t w[4];
    generate(seed, first_counter + index / 4, w);
    return w[index % 4];
  }
  // Uniform in [0, 1) from the `index`-th 32-bit draw of the stream.
  LAMINA_HD static double uniform(std::uint64_t seed, std::uint64_t index) {
    std::uint32_t w[4];
    generate(seed, index / 4, w);
    return w[index % 4] * (1.0 / 4294967296.0);
  }
};

// Uniform in [lo, hi).
Tensor rand(const Shape& shape, TensorOptions options = {}, double lo = 0.0, double hi = 1.0, Generator* gen = nullptr);
// Normal with mean and standard deviation.
Tensor randn(const Shape& shape, TensorOptions options = {}, double mean = 0.0, double stddev = 1.0, Generator* gen = nullptr);
// A random permutation of 0 .. n-1 (int64), e.g. for shuffling a data set.
Tensor randperm(std::int64_t n, Generator* gen = nullptr);

}  // namespace lamina
