#pragma once
// The elementwise math of lamina, written once. g++ compiles these for the CPU loops, nvcc for the CUDA kernels,
// so the CPU tests check the very formulas the GPU runs. No other header of lamina's depends on CUDA.
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define LAMINA_HD __host__ __device__
#else
#define LAMINA_HD
#endif

namespace lamina::functors {

// --- unary ---
struct Neg { template <typename T> LAMINA_HD T operator()(T x) const { return -x; } };
struct Abs { template <typename T> LAMINA_HD T operator()(T x) const { return x < T(0) ? -x : x; } };
struct Exp { template <typename T> LAMINA_HD T operator()(T x) const { return std::exp(x); } };
struct Log { template <typename T> LAMINA_HD T operator()(T x) const { return std::log(x); } };
struct Sqrt { template <typename T> LAMINA_HD T operator()(T x) const { return std::sqrt(x); } };
struct Relu { template <typename T> LAMINA_HD T operator()(T x) const { return x > T(0) ? x : T(0); } };
struct Sigmoid { template <typename T> LAMINA_HD T operator()(T x) const { return T(1) / (T(1) + std::exp(-x)); } };
struct Tanh { template <typename T> LAMINA_HD T operator()(T x) const { return std::tanh(x); } };

// GELU with the exact erf form (PyTorch's default).
struct Gelu {
  template <typename T> LAMINA_HD T operator()(T x) const {
    return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440)));
  }
};
// d/dx gelu(x) = Phi(x) + x * phi(x)
struct GeluGrad {
  template <typename T> LAMINA_HD T operator()(T x) const {
    const T cdf = T(0.5) * (T(1) + std::erf(x * T(0.70710678118654752440)));
    const T pdf = std::exp(T(-0.5) * x * x) * T(0.39894228040143267794);
    return cdf + x * pdf;
  }
};

// --- unary with a scalar parameter ---
struct Pow {
  double e;
  template <typename T> LAMINA_HD T operator()(T x) const { return static_cast<T>(std::pow(x, static_cast<T>(e))); }
};
struct Clamp {
  double lo, hi;
  template <typename T> LAMINA_HD T operator()(T x) const {
    return x < T(lo) ? T(lo) : (x > T(hi) ? T(hi) : x);
  }
};
struct AddScalar { double s; template <typename T> LAMINA_HD T operator()(T x) const { return x + T(s); } };
struct MulScalar { double s; template <typename T> LAMINA_HD T operator()(T x) const { return x * T(s); } };
struct DivScalar { double s; template <typename T> LAMINA_HD T operator()(T x) const { return x / T(s); } };
// s - x and s / x (the scalar on the left)
struct RsubScalar { double s; template <typename T> LAMINA_HD T operator()(T x) const { return T(s) - x; } };
struct RdivScalar { double s; template <typename T> LAMINA_HD T operator()(T x) const { return T(s) / x; } };

// --- binary ---
struct Add { template <typename T> LAMINA_HD T operator()(T a, T b) const { return a + b; } };
struct Sub { template <typename T> LAMINA_HD T operator()(T a, T b) const { return a - b; } };
struct Mul { template <typename T> LAMINA_HD T operator()(T a, T b) const { return a * b; } };
struct Div { template <typename T> LAMINA_HD T operator()(T a, T b) const { return a / b; } };
// a + alpha * b: add_ with a scale, and the optimizers' updates
struct AddScaled {
  double alpha;
  template <typename T> LAMINA_HD T operator()(T a, T b) const { return a + static_cast<T>(alpha) * b; }
};
struct Maximum { template <typename T> LAMINA_HD T operator()(T a, T b) const { return a > b ? a : b; } };
struct Eq { template <typename T> LAMINA_HD T operator()(T a, T b) const { return a == b ? T(1) : T(0); } };
struct Ne { template <typename T> LAMINA_HD T operator()(T a, T b) const { return a != b ? T(1) : T(0); } };
struct Lt { template <typename T> LAMINA_HD T operator()(T a, T b) const { return a < b ? T(1) : T(0); } };
struct Le { template <typename T> LAMINA_HD T operator()(T a, T b) const { return a <= b ? T(1) : T(0); } };
struct Gt { template <typename T> LAMINA_HD T operator()(T a, T b) const { return a > b ? T(1) : T(0); } };
struct Ge { template <typename T> LAMINA_HD T operator()(T a, T b) const { return a >= b ? T(1) : T(0); } };
// where: a where the mask is nonzero, else b. A selection, not mask * a + (1 - mask) * b, which turns inf * 0 into nan.
struct Where { template <typename T> LAMINA_HD T operator()(T mask, T a, T b) const { return mask != T(0) ? a : b; } };

// --- backward formulas, as binary functors of (saved value, incoming gradient) ---
// relu'(x) * g, from the forward input x
struct ReluBackward { template <typename T> LAMINA_HD T operator()(T x, T g) const { return x > T(0) ? g : T(0); } };
// sigmoid'(x) * g = y (1 - y) g, from the forward output y
struct SigmoidBackward { template <typename T> LAMINA_HD T operator()(T y, T g) const { return y * (T(1) - y) * g; } };
// tanh'(x) * g = (1 - y^2) g, from the forward output y
struct TanhBackward { template <typename T> LAMINA_HD T operator()(T y, T g) const { return (T(1) - y * y) * g; } };
struct GeluBackward { template <typename T> LAMINA_HD T operator()(T x, T g) const { return GeluGrad{}(x) * g; } };
// clamp passes the gradient where lo <= x <= hi
struct ClampBackward {
  double lo, hi;
  template <typename T> LAMINA_HD T operator()(T x, T g) const { return (x >= T(lo) && x <= T(hi)) ? g : T(0); }
};
// pow: e * x^(e-1) * g
struct PowBackward {
  double e;
  template <typename T> LAMINA_HD T operator()(T x, T g) const {
    return static_cast<T>(e) * static_cast<T>(std::pow(x, static_cast<T>(e - 1))) * g;
  }
};
// sign(x) * g (abs'(0) taken as 0, as PyTorch does)
struct AbsBackward {
  template <typename T> LAMINA_HD T operator()(T x, T g) const { return x > T(0) ? g : (x < T(0) ? -g : T(0)); }
};

// --- softmax and losses ---
// softmax'(x) * g = y (g - sum_j g_j y_j), from the output y and the row's dot = sum_j g_j y_j
struct SoftmaxBackward {
  template <typename T> LAMINA_HD T operator()(T y, T g, T dot) const { return y * (g - dot); }
};
// log_softmax'(x) * g = g - exp(y) sum_j g_j, from the output y and the row's gsum = sum_j g_j
struct LogSoftmaxBackward {
  template <typename T> LAMINA_HD T operator()(T y, T g, T gsum) const { return g - std::exp(y) * gsum; }
};
// The logit gradient of cross entropy: (softmax(x) - onehot) * g, from the softmax probability p.
struct CrossEntropyBackward {
  template <typename T> LAMINA_HD T operator()(T p, bool is_label, T g) const { return (p - (is_label ? T(1) : T(0))) * g; }
};
struct SquaredError {
  template <typename T> LAMINA_HD T operator()(T a, T b) const { return (a - b) * (a - b); }
};
// d/da (a - b)^2 * g
struct SquaredErrorBackward {
  template <typename T> LAMINA_HD T operator()(T a, T b, T g) const { return T(2) * (a - b) * g; }
};

// --- normalization ---
// (x - mean) * invstd * w + b: the output of batch and layer norm
struct NormalizeAffine {
  template <typename T> LAMINA_HD T operator()(T x, T mean, T invstd, T w, T b) const { return (x - mean) * invstd * w + b; }
};
// The input gradient of a normalization whose statistics come from the same values:
// scale * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), with scale = invstd (times w when w is per group).
struct NormalizeBackward {
  template <typename T> LAMINA_HD T operator()(T dxhat, T xhat, T scale, T mean_dxhat, T mean_dxhat_xhat) const {
    return scale * (dxhat - mean_dxhat - xhat * mean_dxhat_xhat);
  }
};

// --- dropout ---
// Keeps x (scaled by 1 / (1 - p)) when the 32-bit random draw is at or above p * 2^32; p == 1 keeps nothing.
struct Dropout {
  std::uint64_t threshold;  // p * 2^32, up to 2^32 inclusive
  double scale;
  template <typename T> LAMINA_HD T operator()(T x, std::uint32_t draw) const {
    return draw >= threshold ? x * static_cast<T>(scale) : T(0);
  }
};

}  // namespace lamina::functors
