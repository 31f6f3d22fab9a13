#include <lamina/core/vector_math.h>

#include <bit>
#include <cstdint>

#include <lamina/core/simd.h>

namespace lamina::cpu {
namespace {

constexpr float kExpLow = -87.33654f;  // log of float's smallest normal number
constexpr float kExpHigh = 88.72283f;  // log of float's largest finite number

// exp(x) for x in [kExpLow, kExpHigh] (or NaN), as Cephes' expf: x = n ln2 + r with |r| <= ln2 / 2, exp(r) by a
// degree-6 polynomial, 2^n built in the exponent bits. Branch-free, so that the loops calling it vectorize.
LAMINA_INLINE float exp_in_range(float x) {
  // Round x / ln2 to the nearest integer by adding 1.5 * 2^23: the integer lands in the low mantissa bits.
  constexpr float kShift = 12582912.0f;
  const float shifted = x * 1.44269504088896341f + kShift;
  const float n = shifted - kShift;
  const std::int32_t k = std::bit_cast<std::int32_t>(shifted) - std::bit_cast<std::int32_t>(kShift);
  // ln2 in two parts, so that n * ln2_hi is exact and r keeps its low bits.
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n as 2^(n/2) * 2^(n - n/2): n runs from -126 to 128, past the range of one float's exponent field.
  const std::int32_t half = k >> 1;
  return p * std::bit_cast<float>((half + 127) << 23) * std::bit_cast<float>((k - half + 127) << 23);
}

LAMINA_INLINE float exp_one(float x) {
  const float clamped = x < kExpLow ? kExpLow : (x > kExpHigh ? kExpHigh : x);
  const float e = exp_in_range(clamped);
  return x < kExpLow ? 0.0f : (x > kExpHigh ? __builtin_inff() : e);
}

LAMINA_INLINE float sigmoid_one(float x) {
  // e = exp(-|x|) is in (0, 1]: 1 / (1 + e) for x >= 0, e / (1 + e) for x < 0 (no cancellation either way).
  const float z = x < 0.0f ? x : -x;
  const float e = z < kExpLow ? 0.0f : exp_in_range(z < kExpLow ? kExpLow : z);
  const float d = 1.0f / (1.0f + e);
  return x < 0.0f ? e * d : d;
}

}  // namespace

LAMINA_CPU_CLONES void exp(const float* x, float* y, std::int64_t n) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) y[i] = exp_one(x[i]);
}

LAMINA_CPU_CLONES void sigmoid(const float* x, float* y, std::int64_t n) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) y[i] = sigmoid_one(x[i]);
}

LAMINA_CPU_CLONES void sigmoid_backward(const float* y, const float* g, float* grad_x, std::int64_t n) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) grad_x[i] = y[i] * (1.0f - y[i]) * g[i];
}

}  // namespace lamina::cpu
