// CUDA kernels of the elementwise ops, fills and copies, built from the functors the CPU loops run
// (core/functors.h). Any input layout: an OffsetCalculator (core/broadcast.h, tested on the CPU) maps the output's
// linear index to each operand's element, with stride 0 along broadcast dimensions.
#include <cstdint>
#include <type_traits>
#include <variant>

#include <lamina/core/broadcast.h>
#include <lamina/core/cuda/kernels.h>
#include <lamina/core/cuda/launch.h>

namespace lamina::cuda {
namespace {

// Functors whose formulas are plain arithmetic, valid for int64 in device code; the rest call floating-point
// math (the CPU ops reject integer tensors for them before any kernel is reached).
template <typename F>
constexpr bool kIntegerSafe =
    std::is_same_v<F, functors::Neg> || std::is_same_v<F, functors::Abs> || std::is_same_v<F, functors::Relu> ||
    std::is_same_v<F, functors::Clamp> || std::is_same_v<F, functors::AddScalar> ||
    std::is_same_v<F, functors::MulScalar> || std::is_same_v<F, functors::RsubScalar> ||
    std::is_same_v<F, functors::Add> || std::is_same_v<F, functors::Sub> || std::is_same_v<F, functors::Mul> ||
    std::is_same_v<F, functors::Maximum> || std::is_same_v<F, functors::Eq> || std::is_same_v<F, functors::Ne> ||
    std::is_same_v<F, functors::Lt> || std::is_same_v<F, functors::Le> || std::is_same_v<F, functors::Gt> ||
    std::is_same_v<F, functors::Ge> || std::is_same_v<F, functors::AddScaled>;

template <typename T, typename F>
__global__ void unary_kernel(const T* x, OffsetCalculator ox, bool contiguous, T* y, std::int64_t n, F f) {
  LAMINA_GRID_STRIDE_LOOP(i, n) y[i] = f(x[contiguous ? i : ox(i)]);
}

template <typename T, typename F>
__global__ void binary_kernel(const T* a, OffsetCalculator oa, const T* b, OffsetCalculator ob, bool contiguous, T* y,
                              std::int64_t n, F f) {
  LAMINA_GRID_STRIDE_LOOP(i, n) y[i] = contiguous ? f(a[i], b[i]) : f(a[oa(i)], b[ob(i)]);
}

template <typename T>
__global__ void where_kernel(const T* mask, OffsetCalculator om, const T* a, OffsetCalculator oa, const T* b,
                             OffsetCalculator ob, T* y, std::int64_t n) {
  LAMINA_GRID_STRIDE_LOOP(i, n) y[i] = functors::Where{}(mask[om(i)], a[oa(i)], b[ob(i)]);
}

// Contiguous operands at 16-byte aligned addresses take 16-byte loads and stores (float4 for float32): a quarter of
// the memory instructions of element-wise accesses, which is what keeps a memory-bound kernel near the bandwidth.
template <typename T> struct alignas(16) Pack {
  static constexpr int kWidth = 16 / sizeof(T);
  T v[kWidth];
};

template <typename... Ptrs> bool aligned16(const Ptrs*... ptrs) {
  return ((reinterpret_cast<std::uintptr_t>(ptrs) % 16 == 0) && ...);
}

template <typename T, typename F>
__global__ void unary_packed_kernel(const T* x, T* y, std::int64_t n, F f) {
  constexpr int kWidth = Pack<T>::kWidth;
  const std::int64_t packs = n / kWidth, done = packs * kWidth;
  LAMINA_GRID_STRIDE_LOOP(p, packs) {
    const Pack<T> in = reinterpret_cast<const Pack<T>*>(x)[p];
    Pack<T> out;
    for (int k = 0; k < kWidth; ++k) out.v[k] = f(in.v[k]);
    reinterpret_cast<Pack<T>*>(y)[p] = out;
  }
  LAMINA_GRID_STRIDE_LOOP(i, n - done) y[done + i] = f(x[done + i]);  // the tail
}

template <typename T, typename F>
__global__ void binary_packed_kernel(const T* a, const T* b, T* y, std::int64_t n, F f) {
  constexpr int kWidth = Pack<T>::kWidth;
  const std::int64_t packs = n / kWidth, done = packs * kWidth;
  LAMINA_GRID_STRIDE_LOOP(p, packs) {
    const Pack<T> pa = reinterpret_cast<const Pack<T>*>(a)[p], pb = reinterpret_cast<const Pack<T>*>(b)[p];
    Pack<T> out;
    for (int k = 0; k < kWidth; ++k) out.v[k] = f(pa.v[k], pb.v[k]);
    reinterpret_cast<Pack<T>*>(y)[p] = out;
  }
  LAMINA_GRID_STRIDE_LOOP(i, n - done) y[done + i] = f(a[done + i], b[done + i]);
}

template <typename D, typename S>
__global__ void copy_kernel(D* dst, OffsetCalculator od, const S* src, OffsetCalculator os, std::int64_t n) {
  LAMINA_GRID_STRIDE_LOOP(i, n) dst[od(i)] = static_cast<D>(src[os(i)]);
}

template <typename T>
__global__ void fill_kernel(T* dst, OffsetCalculator od, T value, std::int64_t n) {
  LAMINA_GRID_STRIDE_LOOP(i, n) dst[od(i)] = value;
}

template <typename F, typename T>
void require_integer_safe(const char* what) {
  if constexpr (std::is_integral_v<T> && !kIntegerSafe<F>)
    throw std::invalid_argument(std::string(what) + ": no int64 CUDA kernel for this function");
}

void unary(const Tensor& x, const Tensor& out, const UnaryFunctor& functor) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  DeviceGuard guard(out.device().index);
  const OffsetCalculator ox = make_offset_calculator(x.shape(), x.strides());
  std::visit([&]<typename F>(const F& f) {
    dispatch(out.dtype(), [&]<typename T>() {
      require_integer_safe<F, T>("unary elementwise op");
      if constexpr (!std::is_integral_v<T> || kIntegerSafe<F>) {
        if (x.is_contiguous() && aligned16(x.data<T>(), out.data<T>()))
          launch("unary_packed_kernel", unary_packed_kernel<T, F>, (n + Pack<T>::kWidth - 1) / Pack<T>::kWidth,
                 x.data<T>(), out.data<T>(), n, f);
        else
          launch("unary_kernel", unary_kernel<T, F>, n, x.data<T>(), ox, x.is_contiguous(), out.data<T>(), n, f);
      }
    });
  }, functor);
}

void binary(const Tensor& a, const Tensor& b, const Tensor& out, const BinaryFunctor& functor) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  DeviceGuard guard(out.device().index);
  const Shape& shape = out.shape();
  const OffsetCalculator oa = make_offset_calculator(shape, broadcast_strides(a, shape));
  const OffsetCalculator ob = make_offset_calculator(shape, broadcast_strides(b, shape));
  const bool contiguous = a.shape() == shape && b.shape() == shape && a.is_contiguous() && b.is_contiguous();
  std::visit([&]<typename F>(const F& f) {
    dispatch(out.dtype(), [&]<typename T>() {
      require_integer_safe<F, T>("binary elementwise op");
      if constexpr (!std::is_integral_v<T> || kIntegerSafe<F>) {
        if (contiguous && aligned16(a.data<T>(), b.data<T>(), out.data<T>()))
          launch("binary_packed_kernel", binary_packed_kernel<T, F>, (n + Pack<T>::kWidth - 1) / Pack<T>::kWidth,
                 a.data<T>(), b.data<T>(), out.data<T>(), n, f);
        else
          launch("binary_kernel", binary_kernel<T, F>, n, a.data<T>(), oa, b.data<T>(), ob, contiguous, out.data<T>(),
                 n, f);
      }
    });
  }, functor);
}

void where(const Tensor& mask, const Tensor& a, const Tensor& b, const Tensor& out) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  DeviceGuard guard(out.device().index);
  const Shape& shape = out.shape();
  const OffsetCalculator om = make_offset_calculator(shape, broadcast_strides(mask, shape));
  const OffsetCalculator oa = make_offset_calculator(shape, broadcast_strides(a, shape));
  const OffsetCalculator ob = make_offset_calculator(shape, broadcast_strides(b, shape));
  dispatch(out.dtype(), [&]<typename T>() {
    launch("where_kernel", where_kernel<T>, n, mask.data<T>(), om, a.data<T>(), oa, b.data<T>(), ob, out.data<T>(), n);
  });
}

void copy(const Tensor& dst, const Tensor& src) {
  const std::int64_t n = dst.numel();
  if (n == 0) return;
  DeviceGuard guard(dst.device().index);
  const OffsetCalculator od = make_offset_calculator(dst.shape(), dst.strides());
  const OffsetCalculator os = make_offset_calculator(dst.shape(), broadcast_strides(src, dst.shape()));
  dispatch(dst.dtype(), [&]<typename D>() {
    dispatch(src.dtype(), [&]<typename S>() {
      launch("copy_kernel", copy_kernel<D, S>, n, dst.data<D>(), od, src.data<S>(), os, n);
    });
  });
}

void fill(const Tensor& dst, double value) {
  const std::int64_t n = dst.numel();
  if (n == 0) return;
  DeviceGuard guard(dst.device().index);
  const OffsetCalculator od = make_offset_calculator(dst.shape(), dst.strides());
  dispatch(dst.dtype(), [&]<typename T>() {
    launch("fill_kernel", fill_kernel<T>, n, dst.data<T>(), od, static_cast<T>(value), n);
  });
}

}  // namespace

void register_elementwise_kernels(CudaKernels& k) {
  k.unary = unary;
  k.binary = binary;
  k.where = where;
  k.copy = copy;
  k.fill = fill;
}

}  // namespace lamina::cuda
