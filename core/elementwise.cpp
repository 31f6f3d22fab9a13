#include <lamina/core/elementwise.h>

#include <lamina/core/autograd.h>
#include <lamina/core/broadcast.h>
#include <lamina/core/checks.h>
#include <lamina/core/cpu_loops.h>
#include <lamina/core/cuda_kernels.h>
#include <lamina/core/functors.h>
#include <lamina/core/parallel.h>
#include <lamina/core/vector_math.h>

namespace lamina {
namespace {

template <typename F>
Tensor unary(const Tensor& x, F f, const char* op) {
  check_defined(x, op);
  Tensor out = Tensor::empty(x.shape(), {.dtype = x.dtype(), .device = x.device()});
  if (x.device().is_cuda()) cuda_kernel(&CudaKernels::unary, x, op)(x, out, f);
  else dispatch(x.dtype(), [&]<typename T>() { cpu::map_unary<T>(x, out, f); });
  return out;
}

template <typename F>
Tensor unary_floating(const Tensor& x, F f, const char* op) {
  check_defined(x, op);
  check_floating(x, op);
  return unary(x, f, op);
}

template <typename F>
Tensor binary(const Tensor& a, const Tensor& b, F f, const char* op) {
  check_defined(a, op, "first operand");
  check_defined(b, op, "second operand");
  check_same_dtype(a, b, op);
  check_same_device(a, b, op);
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), op), {.dtype = a.dtype(), .device = a.device()});
  if (a.device().is_cuda()) cuda_kernel(&CudaKernels::binary, a, op)(a, b, out, f);
  else dispatch(a.dtype(), [&]<typename T>() { cpu::map_binary<T>(a, b, out, f); });
  return out;
}

// Contiguous float32 tensors take the vectorized kernels of vector_math.h.
bool vector_kernel_applies(const Tensor& t) { return t.dtype() == DType::Float32 && t.is_contiguous() && t.device().is_cpu(); }

// Runs kernel(start, length) over [0, n) in blocks, on the thread pool when n is large.
template <typename Kernel>
void for_blocks(std::int64_t n, Kernel kernel) {
  constexpr std::int64_t kBlock = 16384;
  const std::int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for if (n > kParallelGrain)
  for (std::int64_t b = 0; b < blocks; ++b) kernel(b * kBlock, std::min(kBlock, n - b * kBlock));
}

}  // namespace

// --- binary arithmetic ---

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary(a, b, functors::Add{}, "add");
  if (autograd::needs_grad({&a, &b})) {
    autograd::record("add", out, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) -> std::vector<Tensor> {
      return {autograd::sum_to(g, sa), autograd::sum_to(g, sb)};
    });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary(a, b, functors::Sub{}, "sub");
  if (autograd::needs_grad({&a, &b})) {
    autograd::record("sub", out, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) -> std::vector<Tensor> {
      return {autograd::sum_to(g, sa), autograd::sum_to(neg(g), sb)};
    });
  }
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary(a, b, functors::Mul{}, "mul");
  if (autograd::needs_grad({&a, &b})) {
    autograd::record("mul", out, {a, b}, [a = a.detach(), b = b.detach(), ra = a.requires_grad(), rb = b.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
      return {ra ? autograd::sum_to(mul(g, b), a.shape()) : Tensor(), rb ? autograd::sum_to(mul(g, a), b.shape()) : Tensor()};
    });
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary(a, b, functors::Div{}, "div");
  if (autograd::needs_grad({&a, &b})) {
    autograd::record("div", out, {a, b}, [a = a.detach(), b = b.detach(), rb = b.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
      // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
      Tensor ga = autograd::sum_to(div(g, b), a.shape());
      Tensor gb = rb ? autograd::sum_to(neg(div(mul(g, a), mul(b, b))), b.shape()) : Tensor();
      return {ga, gb};
    });
  }
  return out;
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor out = binary(a, b, functors::Maximum{}, "maximum");
  if (autograd::needs_grad({&a, &b})) {
    autograd::record("maximum", out, {a, b}, [a = a.detach(), b = b.detach()](const Tensor& g) -> std::vector<Tensor> {
      // Ties send the gradient to a, as the forward picks a.
      Tensor mask = ge(a, b);
      return {autograd::sum_to(mul(g, mask), a.shape()), autograd::sum_to(mul(g, rsub(mask, 1.0)), b.shape())};
    });
  }
  return out;
}

// --- with a scalar ---

Tensor add(const Tensor& a, double s) {
  Tensor out = unary(a, functors::AddScalar{s}, "add");
  if (autograd::needs_grad({&a})) {
    autograd::record("add_scalar", out, {a}, [](const Tensor& g) -> std::vector<Tensor> { return {g}; });
  }
  return out;
}

Tensor mul(const Tensor& a, double s) {
  Tensor out = unary(a, functors::MulScalar{s}, "mul");
  if (autograd::needs_grad({&a})) {
    autograd::record("mul_scalar", out, {a}, [s](const Tensor& g) -> std::vector<Tensor> { return {mul(g, s)}; });
  }
  return out;
}

Tensor div(const Tensor& a, double s) {
  Tensor out = unary(a, functors::DivScalar{s}, "div");
  if (autograd::needs_grad({&a})) {
    autograd::record("div_scalar", out, {a}, [s](const Tensor& g) -> std::vector<Tensor> { return {div(g, s)}; });
  }
  return out;
}

Tensor rsub(const Tensor& a, double s) {
  Tensor out = unary(a, functors::RsubScalar{s}, "rsub");
  if (autograd::needs_grad({&a})) {
    autograd::record("rsub_scalar", out, {a}, [](const Tensor& g) -> std::vector<Tensor> { return {neg(g)}; });
  }
  return out;
}

Tensor rdiv(const Tensor& a, double s) {
  Tensor out = unary(a, functors::RdivScalar{s}, "rdiv");
  if (autograd::needs_grad({&a})) {
    autograd::record("rdiv_scalar", out, {a}, [a = a.detach(), s](const Tensor& g) -> std::vector<Tensor> {
      return {neg(mul(div(g, mul(a, a)), s))};
    });
  }
  return out;
}

// --- unary ---

Tensor neg(const Tensor& x) {
  Tensor out = unary(x, functors::Neg{}, "neg");
  if (autograd::needs_grad({&x})) {
    autograd::record("neg", out, {x}, [](const Tensor& g) -> std::vector<Tensor> { return {neg(g)}; });
  }
  return out;
}

namespace {
// An op y = f(x) whose backward is Backward(saved, g), where `saved` is x or y.
template <typename Forward, typename Backward>
Tensor pointwise(const Tensor& x, Forward f, Backward b, const char* op, bool save_output) {
  Tensor out = unary_floating(x, f, op);
  if (autograd::needs_grad({&x})) {
    Tensor saved = save_output ? out.detach() : x.detach();
    autograd::record(op, out, {x}, [saved, b, op](const Tensor& g) -> std::vector<Tensor> {
      return {binary(saved, g, b, op)};
    });
  }
  return out;
}
}  // namespace

Tensor abs(const Tensor& x) {
  Tensor out = unary(x, functors::Abs{}, "abs");
  if (autograd::needs_grad({&x})) {
    autograd::record("abs", out, {x}, [x = x.detach()](const Tensor& g) -> std::vector<Tensor> {
      return {binary(x, g, functors::AbsBackward{}, "abs_backward")};
    });
  }
  return out;
}

Tensor exp(const Tensor& x) {
  check_defined(x, "exp");
  Tensor out;
  if (vector_kernel_applies(x)) {
    out = Tensor::empty(x.shape());
    const float* px = x.data<float>();
    float* py = out.data<float>();
    for_blocks(x.numel(), [&](std::int64_t start, std::int64_t len) { cpu::exp(px + start, py + start, len); });
  } else {
    out = unary_floating(x, functors::Exp{}, "exp");
  }
  if (autograd::needs_grad({&x})) {
    autograd::record("exp", out, {x}, [y = out.detach()](const Tensor& g) -> std::vector<Tensor> { return {mul(g, y)}; });
  }
  return out;
}

Tensor log(const Tensor& x) {
  Tensor out = unary_floating(x, functors::Log{}, "log");
  if (autograd::needs_grad({&x})) {
    autograd::record("log", out, {x}, [x = x.detach()](const Tensor& g) -> std::vector<Tensor> { return {div(g, x)}; });
  }
  return out;
}

Tensor sqrt(const Tensor& x) {
  Tensor out = unary_floating(x, functors::Sqrt{}, "sqrt");
  if (autograd::needs_grad({&x})) {
    autograd::record("sqrt", out, {x}, [y = out.detach()](const Tensor& g) -> std::vector<Tensor> {
      return {div(g, mul(y, 2.0))};
    });
  }
  return out;
}

Tensor pow(const Tensor& x, double e) {
  return pointwise(x, functors::Pow{e}, functors::PowBackward{e}, "pow", false);
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  if (lo > hi)
    throw std::invalid_argument("clamp: lower bound " + std::to_string(lo) + " is above upper bound " + std::to_string(hi));
  return pointwise(x, functors::Clamp{lo, hi}, functors::ClampBackward{lo, hi}, "clamp", false);
}

Tensor relu(const Tensor& x) { return pointwise(x, functors::Relu{}, functors::ReluBackward{}, "relu", false); }
Tensor sigmoid(const Tensor& x) {
  check_defined(x, "sigmoid");
  if (!vector_kernel_applies(x)) return pointwise(x, functors::Sigmoid{}, functors::SigmoidBackward{}, "sigmoid", true);
  Tensor out = Tensor::empty(x.shape());
  const float* px = x.data<float>();
  float* py = out.data<float>();
  for_blocks(x.numel(), [&](std::int64_t start, std::int64_t len) { cpu::sigmoid(px + start, py + start, len); });
  if (autograd::needs_grad({&x})) {
    autograd::record("sigmoid", out, {x}, [y = out.detach()](const Tensor& g) -> std::vector<Tensor> {
      if (!vector_kernel_applies(g) || g.shape() != y.shape()) return {binary(y, g, functors::SigmoidBackward{}, "sigmoid")};
      Tensor gx = Tensor::empty(y.shape());
      const float *py = y.data<float>(), *pg = g.data<float>();
      float* pgx = gx.data<float>();
      for_blocks(y.numel(), [&](std::int64_t start, std::int64_t len) {
        cpu::sigmoid_backward(py + start, pg + start, pgx + start, len);
      });
      return {gx};
    });
  }
  return out;
}
Tensor tanh(const Tensor& x) { return pointwise(x, functors::Tanh{}, functors::TanhBackward{}, "tanh", true); }
Tensor gelu(const Tensor& x) { return pointwise(x, functors::Gelu{}, functors::GeluBackward{}, "gelu", false); }

// --- comparisons (not differentiable) ---

Tensor eq(const Tensor& a, const Tensor& b) { return binary(a, b, functors::Eq{}, "eq"); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary(a, b, functors::Ne{}, "ne"); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary(a, b, functors::Lt{}, "lt"); }
Tensor le(const Tensor& a, const Tensor& b) { return binary(a, b, functors::Le{}, "le"); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary(a, b, functors::Gt{}, "gt"); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary(a, b, functors::Ge{}, "ge"); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_defined(cond, "where", "condition");
  check_same_dtype(a, b, "where");
  check_same_device(a, b, "where");
  check_same_device(cond, a, "where");
  Tensor mask = ne(cond, zeros({}, {.dtype = cond.dtype(), .device = cond.device()}));
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = Tensor::empty(shape, {.dtype = a.dtype(), .device = a.device()});
  const Tensor m = mask.to(a.dtype());
  if (a.device().is_cuda()) {
    cuda_kernel(&CudaKernels::where, a, "where")(m, a, b, out);
  } else {
    dispatch(a.dtype(), [&]<typename T>() {
      const OffsetCalculator om = make_offset_calculator(shape, broadcast_strides(m, shape));
      const OffsetCalculator oa = make_offset_calculator(shape, broadcast_strides(a, shape));
      const OffsetCalculator ob = make_offset_calculator(shape, broadcast_strides(b, shape));
      const T* pm = m.data<T>();
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      T* y = out.data<T>();
#pragma omp parallel for if (out.numel() > kParallelGrain)
      for (std::int64_t i = 0; i < out.numel(); ++i) y[i] = functors::Where{}(pm[om(i)], pa[oa(i)], pb[ob(i)]);
    });
  }
  if (autograd::needs_grad({&a, &b})) {
    autograd::record("where", out, {a, b}, [mask, sa = a.shape(), sb = b.shape()](const Tensor& g) -> std::vector<Tensor> {
      const Tensor zero = zeros({}, {.dtype = g.dtype(), .device = g.device()});
      return {autograd::sum_to(where(mask, g, zero), sa), autograd::sum_to(where(mask, zero, g), sb)};
    });
  }
  return out;
}

}  // namespace lamina

namespace lamina {
Tensor Tensor::abs() const { return lamina::abs(*this); }
Tensor Tensor::neg() const { return lamina::neg(*this); }
Tensor Tensor::exp() const { return lamina::exp(*this); }
Tensor Tensor::log() const { return lamina::log(*this); }
Tensor Tensor::sqrt() const { return lamina::sqrt(*this); }
Tensor Tensor::pow(double exponent) const { return lamina::pow(*this, exponent); }
Tensor Tensor::clamp(double lo, double hi) const { return lamina::clamp(*this, lo, hi); }
Tensor Tensor::relu() const { return lamina::relu(*this); }
Tensor Tensor::sigmoid() const { return lamina::sigmoid(*this); }
Tensor Tensor::tanh() const { return lamina::tanh(*this); }
Tensor Tensor::gelu() const { return lamina::gelu(*this); }
}  // namespace lamina
