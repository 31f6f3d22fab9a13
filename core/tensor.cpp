#include <lamina/core/tensor.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include <lamina/core/autograd.h>
#include <lamina/core/broadcast.h>
#include <lamina/core/checks.h>
#include <lamina/core/cuda_kernels.h>
#include <lamina/core/parallel.h>

namespace lamina {

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::int64_t shape_numel(const Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  std::int64_t s = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= std::max<std::int64_t>(shape[i], 1);
  }
  return strides;
}

namespace {

// A tensor sharing `base`'s storage with a new layout (no autograd history).
Tensor make_view(const Tensor& base, Shape shape, Shape strides, std::int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage();
  impl->offset = offset;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

// Strides for viewing `t` as `shape` without a copy, or empty when its layout does not allow it.
Shape view_strides(const Tensor& t, const Shape& shape) {
  if (t.is_contiguous()) return contiguous_strides(shape);
  // Split the old shape into runs of dimensions that are contiguous with each other; each run of the new shape
  // must fall inside one of them (the rule numpy and PyTorch use).
  const Shape& old_shape = t.shape();
  const Shape& old_strides = t.strides();
  Shape strides(shape.size());
  std::size_t view_d = shape.size();
  std::int64_t chunk_base_stride = old_strides.empty() ? 1 : old_strides.back();
  std::int64_t tensor_numel = 1, view_numel = 1;
  for (std::size_t tensor_d = old_shape.size(); tensor_d-- > 0;) {
    tensor_numel *= old_shape[tensor_d];
    if (tensor_d == 0 || (old_shape[tensor_d - 1] != 1 && old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d > 0 && (view_numel < tensor_numel || shape[view_d - 1] == 1)) {
        strides[view_d - 1] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d - 1];
        --view_d;
      }
      if (view_numel != tensor_numel) return {};
      if (tensor_d > 0) {
        chunk_base_stride = old_strides[tensor_d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != 0) return {};
  return strides;
}

Shape infer_shape(const Shape& shape, std::int64_t numel, const char* op, const Shape& from) {
  Shape out = shape;
  std::int64_t known = 1;
  int infer = -1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (infer >= 0) throw std::invalid_argument(std::string(op) + ": only one dimension can be -1, got " + shape_str(shape));
      infer = static_cast<int>(i);
    } else {
      known *= out[i];
    }
  }
  if (infer >= 0 && known != 0 && numel % known == 0) out[infer] = numel / known;
  if (shape_numel(out) != numel || (infer >= 0 && known == 0))
    throw std::invalid_argument(std::string(op) + ": cannot reshape a tensor of shape " + shape_str(from) + " (" +
                                std::to_string(numel) + " elements) into " + shape_str(shape));
  return out;
}

template <typename D, typename S>
void strided_copy(const Tensor& dst, const Tensor& src_broadcast, const Shape& src_strides) {
  const std::int64_t n = dst.numel();
  D* d = static_cast<D*>(dst.storage().data()) + dst.offset();
  const S* s = static_cast<const S*>(src_broadcast.storage().data()) + src_broadcast.offset();
  if (dst.is_contiguous() && src_broadcast.is_contiguous() && src_broadcast.shape() == dst.shape()) {
    if constexpr (std::is_same_v<D, S>) {
      std::memcpy(d, s, n * sizeof(D));
    } else {
#pragma omp parallel for simd if (n > kParallelGrain)
      for (std::int64_t i = 0; i < n; ++i) d[i] = static_cast<D>(s[i]);
    }
    return;
  }
  // Row by row: the index arithmetic (divisions) once per row, then each side steps by its innermost stride.
  // A bias broadcast over a batch (source stride 0 on the rows) is then a plain copy per row.
  const Shape& shape = dst.shape();
  const std::int64_t inner = shape.empty() ? 1 : shape.back();
  if (n == 0) return;
  const std::int64_t rows = n / inner;
  const std::int64_t di = shape.empty() ? 0 : dst.strides().back(), si = shape.empty() ? 0 : src_strides.back();
  const Shape outer(shape.begin(), shape.end() - (shape.empty() ? 0 : 1));
  const OffsetCalculator od = make_offset_calculator(outer, Shape(dst.strides().begin(), dst.strides().begin() + outer.size()));
  const OffsetCalculator os = make_offset_calculator(outer, Shape(src_strides.begin(), src_strides.begin() + outer.size()));
#pragma omp parallel for if (n > kParallelGrain)
  for (std::int64_t r = 0; r < rows; ++r) {
    D* dr = d + od(r);
    const S* sr = s + os(r);
    if (di == 1 && si == 1) {
      for (std::int64_t i = 0; i < inner; ++i) dr[i] = static_cast<D>(sr[i]);  // unit strides: a loop that vectorizes
    } else {
      for (std::int64_t i = 0; i < inner; ++i) dr[i * di] = static_cast<D>(sr[i * si]);
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Basics

Tensor Tensor::empty(const Shape& shape, TensorOptions options) {
  for (std::int64_t d : shape)
    if (d < 0) throw std::invalid_argument("empty: negative dimension in shape " + shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage(static_cast<std::size_t>(shape_numel(shape)) * dtype_size(options.dtype), options.device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = options.dtype;
  impl->requires_grad = options.requires_grad;
  return Tensor(std::move(impl));
}

TensorImpl& Tensor::impl() const {
  if (!impl_) throw std::logic_error("use of an undefined tensor");
  return *impl_;
}

std::int64_t Tensor::size(std::int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }

bool Tensor::is_contiguous() const {
  const Shape& sh = shape();
  const Shape& st = strides();
  std::int64_t expected = 1;
  for (std::size_t i = sh.size(); i-- > 0;) {
    if (sh[i] == 1) continue;
    if (st[i] != expected) return false;
    expected *= sh[i];
  }
  return true;
}

void Tensor::check_dtype(DType expected) const {
  if (impl().deferred)
    throw std::logic_error("data of a deferred parameter: its shape is not known until the module's first forward");
  if (dtype() != expected)
    throw std::invalid_argument(std::string("data<") + dtype_name(expected) + ">() on a tensor of dtype " +
                                dtype_name(dtype()));
}

void* Tensor::raw_data() const {
  return static_cast<char*>(impl().storage.data()) + impl().offset * static_cast<std::int64_t>(dtype_size(dtype()));
}

double Tensor::item() const {
  if (numel() != 1)
    throw std::invalid_argument("item: the tensor has " + std::to_string(numel()) + " elements (shape " +
                                shape_str(shape()) + "); item() needs exactly one");
  const Tensor host = device().is_cpu() ? *this : to(Device::cpu());
  return dispatch(dtype(), [&]<typename T>() { return static_cast<double>(*host.data<T>()); });
}

template <typename T> std::vector<T> Tensor::to_vector() const {
  const Tensor c = to(Device::cpu()).to(dtype_of<T>()).contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<std::int64_t> Tensor::to_vector<std::int64_t>() const;

// ---------------------------------------------------------------------------------------------------------------
// Autograd accessors

Tensor& Tensor::requires_grad_(bool value) {
  if (!is_leaf())
    throw std::invalid_argument("requires_grad_: only a leaf tensor can be marked; this one was produced by '" +
                                grad_fn()->name + "' (use detach() first)");
  if (value && !is_floating(dtype()))
    throw std::invalid_argument(std::string("requires_grad_: only floating-point tensors can require grad, got ") +
                                dtype_name(dtype()));
  impl().requires_grad = value;
  return *this;
}

Tensor Tensor::grad() const { return Tensor(impl().grad); }

void Tensor::set_grad(const Tensor& grad) {
  if (grad.defined() && grad.shape() != shape())
    throw std::invalid_argument("set_grad: gradient of shape " + shape_str(grad.shape()) + " for a tensor of shape " +
                                shape_str(shape()));
  impl().grad = grad.impl_ptr();
}

void Tensor::set_grad_destination(const Tensor& destination) {
  if (destination.defined() && (!is_leaf() || !requires_grad()))
    throw std::invalid_argument("set_grad_destination: only a leaf that requires grad has one");
  if (destination.defined() && (destination.shape() != shape() || destination.dtype() != dtype() ||
                                destination.device() != device() || !destination.is_contiguous()))
    throw std::invalid_argument("set_grad_destination: the destination " + describe(destination) +
                                " must be contiguous and match the tensor " + describe(*this));
  impl().grad_destination = destination.defined() ? destination.impl_ptr() : nullptr;
}

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  autograd::backward(*this, gradient, retain_graph);
}

Tensor Tensor::detach() const { return make_view(*this, shape(), strides(), offset()); }

std::uint64_t Tensor::register_post_accumulate_grad_hook(std::function<void(Tensor&)> hook) {
  if (!is_leaf() || !requires_grad())
    throw std::invalid_argument("register_post_accumulate_grad_hook: only a leaf that requires grad has one");
  static std::atomic<std::uint64_t> next_key{1};
  const std::uint64_t key = next_key++;
  impl().post_accumulate_grad_hooks.push_back({key, std::move(hook)});
  return key;
}

void Tensor::remove_post_accumulate_grad_hook(std::uint64_t key) {
  std::erase_if(impl().post_accumulate_grad_hooks, [key](const TensorImpl::PostAccumulateGradHook& h) { return h.key == key; });
}

// ---------------------------------------------------------------------------------------------------------------
// Views

Tensor Tensor::view(const Shape& new_shape) const {
  const Shape target = infer_shape(new_shape, numel(), "view", shape());
  const Shape st = view_strides(*this, target);
  if (st.empty() && !target.empty())
    throw std::invalid_argument("view: a tensor of shape " + shape_str(shape()) + " and strides " + shape_str(strides()) +
                                " cannot be viewed as " + shape_str(target) + "; use reshape()");
  Tensor out = make_view(*this, target, st, offset());
  if (autograd::needs_grad({this})) {
    autograd::record("view", out, {*this}, [in_shape = shape()](const Tensor& g) -> std::vector<Tensor> {
      return {g.reshape(in_shape)};
    });
  }
  return out;
}

Tensor Tensor::reshape(const Shape& new_shape) const {
  const Shape target = infer_shape(new_shape, numel(), "reshape", shape());
  if (!view_strides(*this, target).empty() || target.empty()) return view(target);
  return contiguous().view(target);
}

Tensor Tensor::flatten(std::int64_t start_dim, std::int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  const std::int64_t s = wrap_dim(start_dim, dim(), "flatten");
  const std::int64_t e = wrap_dim(end_dim, dim(), "flatten");
  if (s > e) throw std::invalid_argument("flatten: start_dim " + std::to_string(start_dim) + " is after end_dim " + std::to_string(end_dim));
  Shape target(shape().begin(), shape().begin() + s);
  std::int64_t merged = 1;
  for (std::int64_t d = s; d <= e; ++d) merged *= shape()[d];
  target.push_back(merged);
  target.insert(target.end(), shape().begin() + e + 1, shape().end());
  return reshape(target);
}

Tensor Tensor::transpose(std::int64_t dim0, std::int64_t dim1) const {
  const std::int64_t a = wrap_dim(dim0, dim(), "transpose");
  const std::int64_t b = wrap_dim(dim1, dim(), "transpose");
  Shape sh = shape(), st = strides();
  std::swap(sh[a], sh[b]);
  std::swap(st[a], st[b]);
  Tensor out = make_view(*this, sh, st, offset());
  if (autograd::needs_grad({this})) {
    autograd::record("transpose", out, {*this}, [a, b](const Tensor& g) -> std::vector<Tensor> { return {g.transpose(a, b)}; });
  }
  return out;
}

Tensor Tensor::permute(const Shape& dims) const {
  if (static_cast<std::int64_t>(dims.size()) != dim())
    throw std::invalid_argument("permute: " + std::to_string(dims.size()) + " dimensions given for a " +
                                std::to_string(dim()) + "-d tensor");
  Shape sh(dims.size()), st(dims.size()), inverse(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const std::int64_t d = wrap_dim(dims[i], dim(), "permute");
    if (seen[d]) throw std::invalid_argument("permute: dimension " + std::to_string(d) + " repeats in " + shape_str(dims));
    seen[d] = true;
    sh[i] = shape()[d];
    st[i] = strides()[d];
    inverse[d] = static_cast<std::int64_t>(i);
  }
  Tensor out = make_view(*this, sh, st, offset());
  if (autograd::needs_grad({this})) {
    autograd::record("permute", out, {*this}, [inverse](const Tensor& g) -> std::vector<Tensor> { return {g.permute(inverse)}; });
  }
  return out;
}

Tensor Tensor::slice(std::int64_t d, std::int64_t start, std::int64_t end, std::int64_t step) const {
  const std::int64_t dd = wrap_dim(d, dim(), "slice");
  if (step <= 0) throw std::invalid_argument("slice: step must be positive, got " + std::to_string(step));
  const std::int64_t n = shape()[dd];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<std::int64_t>(start, 0, n);
  end = std::clamp<std::int64_t>(end, start, n);
  Shape sh = shape(), st = strides();
  sh[dd] = (end - start + step - 1) / step;
  st[dd] *= step;
  Tensor out = make_view(*this, sh, st, offset() + start * strides()[dd]);
  if (autograd::needs_grad({this})) {
    autograd::record("slice", out, {*this}, [in_shape = shape(), dtype = dtype(), dd, start, end, step](const Tensor& g) -> std::vector<Tensor> {
      Tensor full_grad = zeros(in_shape, {.dtype = dtype, .device = g.device()});
      full_grad.slice(dd, start, end, step).copy_(g);
      return {full_grad};
    });
  }
  return out;
}

Tensor Tensor::select(std::int64_t d, std::int64_t index) const {
  const std::int64_t dd = wrap_dim(d, dim(), "select");
  const std::int64_t n = shape()[dd];
  if (index < -n || index >= n)
    throw std::out_of_range("select: index " + std::to_string(index) + " is out of range for dimension " +
                            std::to_string(dd) + " of size " + std::to_string(n));
  if (index < 0) index += n;
  return slice(dd, index, index + 1).squeeze(dd);
}

Tensor Tensor::unsqueeze(std::int64_t d) const {
  const std::int64_t dd = wrap_dim(d, dim() + 1, "unsqueeze");
  Shape sh = shape();
  sh.insert(sh.begin() + dd, 1);
  return view(sh);
}

Tensor Tensor::squeeze(std::int64_t d) const {
  const std::int64_t dd = wrap_dim(d, dim(), "squeeze");
  if (shape()[dd] != 1) return *this;
  Shape sh = shape();
  sh.erase(sh.begin() + dd);
  return view(sh);
}

Tensor Tensor::expand(const Shape& target) const {
  if (target.size() < shape().size())
    throw std::invalid_argument("expand: cannot expand " + shape_str(shape()) + " to fewer dimensions " + shape_str(target));
  const Shape sh = broadcast_shapes(shape(), target, "expand");
  if (sh != target)
    throw std::invalid_argument("expand: cannot expand " + shape_str(shape()) + " to " + shape_str(target));
  Tensor out = make_view(*this, target, broadcast_strides(*this, target), offset());
  if (autograd::needs_grad({this})) {
    autograd::record("expand", out, {*this}, [in_shape = shape()](const Tensor& g) -> std::vector<Tensor> {
      return {autograd::sum_to(g, in_shape)};
    });
  }
  return out;
}

Tensor Tensor::as_strided(const Shape& shape, const Shape& strides, std::int64_t storage_offset) const {
  return make_view(*this, shape, strides, storage_offset);
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

// ---------------------------------------------------------------------------------------------------------------
// Copies

Tensor Tensor::clone() const {
  Tensor out = Tensor::empty(shape(), {.dtype = dtype(), .device = device()});
  {
    NoGradGuard no_grad;
    out.copy_(*this);
  }
  if (autograd::needs_grad({this})) {
    autograd::record("clone", out, {*this}, [](const Tensor& g) -> std::vector<Tensor> { return {g}; });
  }
  return out;
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = Tensor::empty(shape(), {.dtype = target, .device = device()});
  out.copy_(*this);
  if (autograd::needs_grad({this}) && is_floating(target)) {
    autograd::record("to_dtype", out, {*this}, [from = dtype()](const Tensor& g) -> std::vector<Tensor> { return {g.to(from)}; });
  }
  return out;
}

Tensor Tensor::to(Device target) const {
  if (target == device()) return *this;
  const Tensor src = contiguous();
  Tensor out = Tensor::empty(shape(), {.dtype = dtype(), .device = target});
  const std::size_t nbytes = static_cast<std::size_t>(numel()) * dtype_size(dtype());
  cuda_backend(target.is_cuda() ? target : device()).copy(out.raw_data(), target, src.raw_data(), device(), nbytes);
  if (autograd::needs_grad({this})) {
    autograd::record("to_device", out, {*this}, [from = device()](const Tensor& g) -> std::vector<Tensor> { return {g.to(from)}; });
  }
  return out;
}

Tensor Tensor::pin_memory() const {
  check_cpu(*this, "pin_memory");
  if (is_pinned()) return *this;
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::pinned(static_cast<std::size_t>(numel()) * dtype_size(dtype()));
  impl->shape = shape();
  impl->strides = contiguous_strides(shape());
  impl->dtype = dtype();
  Tensor out(std::move(impl));
  out.copy_(*this);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// In place (not recorded)

Tensor& Tensor::fill_(double value) {
  if (device().is_cuda()) {
    cuda_kernel(&CudaKernels::fill, *this, "fill_")(*this, value);
    return *this;
  }
  dispatch(dtype(), [&]<typename T>() {
    const T v = static_cast<T>(value);
    if (is_contiguous()) {
      T* p = data<T>();
      std::fill(p, p + numel(), v);
    } else {
      T* p = data<T>();
      const OffsetCalculator off = make_offset_calculator(shape(), strides());
      for (std::int64_t i = 0; i < numel(); ++i) p[off(i)] = v;
    }
  });
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  const Shape sh = broadcast_shapes(src.shape(), shape(), "copy_");
  if (sh != shape())
    throw std::invalid_argument("copy_: source of shape " + shape_str(src.shape()) + " does not broadcast to " + shape_str(shape()));
  // Across devices: bring the source over first (to() copies whole contiguous buffers), then copy on this device.
  if (src.device() != device()) return copy_(src.to(device()));
  if (device().is_cuda()) {
    cuda_kernel(&CudaKernels::copy, *this, "copy_")(*this, src);
    return *this;
  }
  const Shape src_strides = broadcast_strides(src, shape());
  dispatch(dtype(), [&]<typename D>() {
    dispatch(src.dtype(), [&]<typename S>() { strided_copy<D, S>(*this, src, src_strides); });
  });
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_same_device(*this, other, "add_");
  if (other.dtype() != dtype())
    throw std::invalid_argument(std::string("add_: dtype ") + dtype_name(other.dtype()) + " added into " + dtype_name(dtype()));
  if (!is_contiguous()) throw std::invalid_argument("add_: the destination must be contiguous");
  const Shape sh = broadcast_shapes(other.shape(), shape(), "add_");
  if (sh != shape())
    throw std::invalid_argument("add_: shape " + shape_str(other.shape()) + " does not broadcast to " + shape_str(shape()));
  if (device().is_cuda()) {
    cuda_kernel(&CudaKernels::binary, *this, "add_")(*this, other, *this, functors::AddScaled{alpha});
    return *this;
  }
  dispatch(dtype(), [&]<typename T>() {
    T* y = data<T>();
    const T a = static_cast<T>(alpha);
    const std::int64_t n = numel();
    if (other.is_contiguous() && other.shape() == shape()) {
      const T* x = other.data<T>();
#pragma omp parallel for simd if (n > kParallelGrain)
      for (std::int64_t i = 0; i < n; ++i) y[i] += a * x[i];
    } else if (n > 0) {
      // Row by row, as strided_copy: the index arithmetic once per row.
      const T* x = other.data<T>();
      const Shape strides = broadcast_strides(other, shape());
      const std::int64_t inner = dim() == 0 ? 1 : shape().back(), step = dim() == 0 ? 0 : strides.back();
      const Shape outer(shape().begin(), shape().end() - (dim() == 0 ? 0 : 1));
      const OffsetCalculator off = make_offset_calculator(outer, Shape(strides.begin(), strides.begin() + outer.size()));
#pragma omp parallel for if (n > kParallelGrain)
      for (std::int64_t r = 0; r < n / inner; ++r) {
        const T* xr = x + off(r);
        T* yr = y + r * inner;
        for (std::int64_t i = 0; i < inner; ++i) yr[i] += a * xr[i * step];
      }
    }
  });
  return *this;
}

Tensor& Tensor::mul_(double value) {
  if (!is_contiguous()) throw std::invalid_argument("mul_: the tensor must be contiguous");
  if (device().is_cuda()) {
    cuda_kernel(&CudaKernels::unary, *this, "mul_")(*this, *this, functors::MulScalar{value});
    return *this;
  }
  dispatch(dtype(), [&]<typename T>() {
    T* y = data<T>();
    const T v = static_cast<T>(value);
    const std::int64_t n = numel();
#pragma omp parallel for simd if (n > kParallelGrain)
    for (std::int64_t i = 0; i < n; ++i) y[i] *= v;
  });
  return *this;
}

// ---------------------------------------------------------------------------------------------------------------
// Factories

Tensor zeros(const Shape& shape, TensorOptions options) { return full(shape, 0.0, options); }
Tensor ones(const Shape& shape, TensorOptions options) { return full(shape, 1.0, options); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), {.dtype = t.dtype(), .device = t.device()}); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), {.dtype = t.dtype(), .device = t.device()}); }

Tensor full(const Shape& shape, double value, TensorOptions options) {
  const bool requires_grad = options.requires_grad;
  options.requires_grad = false;
  Tensor t = Tensor::empty(shape, {.dtype = options.dtype, .device = options.device});
  t.fill_(value);
  if (requires_grad) t.requires_grad_(true);
  return t;
}

Tensor scalar_tensor(double value, TensorOptions options) { return full({}, value, options); }

Tensor arange(double start, double end, double step, TensorOptions options) {
  if (step == 0 || (end - start) / step < 0)
    throw std::invalid_argument("arange: step " + std::to_string(step) + " does not lead from " + std::to_string(start) +
                                " to " + std::to_string(end));
  const auto n = static_cast<std::int64_t>(std::ceil((end - start) / step));
  Tensor t = Tensor::empty({n}, {.dtype = options.dtype});
  dispatch(options.dtype, [&]<typename T>() {
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  if (!options.device.is_cpu()) t = t.to(options.device);
  if (options.requires_grad) t.requires_grad_(true);
  return t;
}

template <typename T> Tensor from_vector(const std::vector<T>& values, const Shape& shape, bool requires_grad) {
  if (static_cast<std::int64_t>(values.size()) != shape_numel(shape))
    throw std::invalid_argument("from_vector: " + std::to_string(values.size()) + " values for shape " + shape_str(shape) +
                                " (" + std::to_string(shape_numel(shape)) + " elements)");
  Tensor t = Tensor::empty(shape, {.dtype = dtype_of<T>()});
  std::copy(values.begin(), values.end(), t.data<T>());
  if (requires_grad) t.requires_grad_(true);
  return t;
}
template Tensor from_vector<float>(const std::vector<float>&, const Shape&, bool);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&, bool);
template Tensor from_vector<std::int64_t>(const std::vector<std::int64_t>&, const Shape&, bool);

Tensor from_blob(std::shared_ptr<void> owner, void* data, const Shape& shape, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  const std::size_t nbytes = static_cast<std::size_t>(shape_numel(shape)) * dtype_size(dtype);
  impl->storage = Storage(std::shared_ptr<void>(std::move(owner), data), nbytes, Device::cpu());
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

// ---------------------------------------------------------------------------------------------------------------
// Printing, in PyTorch's style: tensor([[1.0000, 2.0000], [3.0000, 4.0000]], dtype=float64)

namespace {
void print_dim(std::ostream& os, const Tensor& t, std::int64_t d, std::vector<std::int64_t>& index, int indent) {
  os << '[';
  const std::int64_t n = t.shape()[d];
  // Long dimensions print their first and last three entries.
  const bool elide = n > 6;
  for (std::int64_t i = 0; i < n; ++i) {
    if (elide && i == 3) {
      os << (d + 1 == t.dim() ? "..., " : "...,\n" + std::string(indent + 1, ' '));
      i = n - 3;
    }
    index[d] = i;
    if (d + 1 == t.dim()) {
      std::int64_t off = 0;
      for (std::int64_t k = 0; k < t.dim(); ++k) off += index[k] * t.strides()[k];
      dispatch(t.dtype(), [&]<typename T>() {
        const T v = static_cast<const T*>(t.storage().data())[t.offset() + off];
        if constexpr (std::is_integral_v<T>) os << v;
        else os << std::fixed << std::setprecision(4) << v;
      });
    } else {
      print_dim(os, t, d + 1, index, indent + 1);
    }
    if (i + 1 < n) os << (d + 1 == t.dim() ? ", " : ",\n" + std::string(indent + 1, ' '));
  }
  os << ']';
}
}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  const Tensor host = device().is_cpu() ? *this : to(Device::cpu());
  std::ostringstream os;
  os << "tensor(";
  if (dim() == 0) {
    dispatch(dtype(), [&]<typename T>() {
      if constexpr (std::is_integral_v<T>) os << *host.data<T>();
      else os << std::fixed << std::setprecision(4) << *host.data<T>();
    });
  } else {
    std::vector<std::int64_t> index(dim(), 0);
    print_dim(os, host, 0, index, 7);
  }
  if (dtype() != DType::Float32) os << ", dtype=" << dtype_name(dtype());
  if (!device().is_cpu()) os << ", device=" << device().str();
  if (grad_fn()) os << ", grad_fn=<" << grad_fn()->name << ">";
  else if (requires_grad()) os << ", requires_grad=true";
  os << ')';
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace lamina
