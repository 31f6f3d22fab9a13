#include <lamina/core/shape_ops.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include <lamina/core/autograd.h>
#include <lamina/core/broadcast.h>
#include <lamina/core/checks.h>
#include <lamina/core/cuda_kernels.h>
#include <lamina/core/elementwise.h>
#include <lamina/core/indexing.h>
#include <lamina/core/parallel.h>

namespace lamina {
namespace {

std::int64_t product(const Shape& shape, std::int64_t begin, std::int64_t end) {
  std::int64_t n = 1;
  for (std::int64_t d = begin; d < end; ++d) n *= shape[d];
  return n;
}

// An int64 index tensor, contiguous, on `on`'s device.
Tensor index_tensor(const Tensor& index, const Tensor& on, const char* op) {
  check_defined(index, op, "index");
  if (index.dtype() != DType::Int64)
    throw std::invalid_argument(std::string(op) + ": index must be int64, got " + describe(index));
  check_same_device(on, index, op);
  return index.detach().contiguous();
}

// Every index must lie in [0, size): the kernels read and write through them unchecked. A CUDA index is copied to
// the host for the check (one synchronization), as embedding's is.
void check_indices(const Tensor& index, std::int64_t dim, const Tensor& x, const char* op) {
  const Tensor host = index.to(Device::cpu());
  const std::int64_t* p = host.data<std::int64_t>();
  const std::int64_t size = x.shape()[dim];
  for (std::int64_t i = 0; i < host.numel(); ++i)
    if (p[i] < 0 || p[i] >= size)
      throw std::out_of_range(std::string(op) + ": index " + std::to_string(p[i]) + " is out of range for dimension " +
                              std::to_string(dim) + " of size " + std::to_string(size) + " (input " + describe(x) + ")");
}

// Where gather's element p reads (or its backward writes) in a tensor with `strides`, along dimension d.
kernels::GatherGeometry gather_geometry(const Shape& index_shape, Shape strides, std::int64_t d) {
  const std::int64_t stride = strides[d];
  strides[d] = 0;
  return {make_offset_calculator(index_shape, strides), stride};
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  if (tensors.empty()) throw std::invalid_argument("cat: expected a non-empty list of tensors");
  const Tensor& first = tensors[0];
  check_defined(first, "cat");
  if (first.dim() == 0) throw std::invalid_argument("cat: zero-dimensional tensors cannot be concatenated, got " + describe(first));
  const std::int64_t d = wrap_dim(dim, first.dim(), "cat");
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    check_defined(t, "cat");
    check_same_dtype(first, t, "cat");
    check_same_device(first, t, "cat");
    bool matches = t.dim() == first.dim();
    for (std::int64_t k = 0; matches && k < t.dim(); ++k) matches = k == d || t.shape()[k] == first.shape()[k];
    if (!matches)
      throw std::invalid_argument("cat: tensor " + std::to_string(i) + " (" + describe(t) + ") does not match tensor 0 (" +
                                  describe(first) + ") outside dimension " + std::to_string(d));
    out_shape[d] += t.shape()[d];
  }

  Tensor out = Tensor::empty(out_shape, {.dtype = first.dtype(), .device = first.device()});
  // Viewed as [outer, size(d) * inner], each input fills one column block of every output row.
  const std::int64_t outer = product(out_shape, 0, d);
  const std::int64_t inner = product(out_shape, d + 1, first.dim());
  const std::int64_t out_row = out_shape[d] * inner;
  if (first.device().is_cuda()) {
    // On a GPU each input is copied into its slice of the output by the copy kernel.
    std::int64_t start = 0;
    for (const Tensor& t : tensors) {
      out.slice(d, start, start + t.shape()[d]).copy_(t.detach());
      start += t.shape()[d];
    }
  } else {
    dispatch(first.dtype(), [&]<typename T>() {
      T* dst = out.data<T>();
      std::int64_t column = 0;
      for (const Tensor& t : tensors) {
        const Tensor src = t.detach().contiguous();
        const T* s = src.data<T>();
        const std::int64_t row = t.shape()[d] * inner;
#pragma omp parallel for if (outer * row > kParallelGrain)
        for (std::int64_t o = 0; o < outer; ++o) std::copy_n(s + o * row, row, dst + o * out_row + column);
        column += row;
      }
    });
  }

  if (autograd::needs_grad(tensors)) {
    std::vector<std::int64_t> sizes;
    std::vector<bool> needed;
    for (const Tensor& t : tensors) {
      sizes.push_back(t.shape()[d]);
      needed.push_back(t.requires_grad());
    }
    autograd::record("cat", out, tensors, [d, sizes, needed](const Tensor& g) -> std::vector<Tensor> {
      std::vector<Tensor> grads;
      std::int64_t start = 0;
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        grads.push_back(needed[i] ? g.slice(d, start, start + sizes[i]) : Tensor());
        start += sizes[i];
      }
      return grads;
    });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim) {
  if (tensors.empty()) throw std::invalid_argument("stack: expected a non-empty list of tensors");
  check_defined(tensors[0], "stack");
  const std::int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> unsqueezed;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    check_defined(tensors[i], "stack");
    if (tensors[i].shape() != tensors[0].shape())
      throw std::invalid_argument("stack: tensor " + std::to_string(i) + " (" + describe(tensors[i]) +
                                  ") does not have the shape of tensor 0 (" + describe(tensors[0]) + ")");
    unsqueezed.push_back(tensors[i].unsqueeze(d));
  }
  return cat(unsqueezed, d);
}

void cpu::index_select(const Tensor& x, const Tensor& index, const Tensor& out, std::int64_t n, std::int64_t inner) {
  const std::int64_t k = index.numel(), rows = inner == 0 ? 0 : out.numel() / inner;
  const std::int64_t* ip = index.data<std::int64_t>();
  dispatch(x.dtype(), [&]<typename T>() {
    const T* src = x.data<T>();
    T* dst = out.data<T>();
    // One output row per iteration, so selecting rows of a matrix (outer == 1) also splits.
#pragma omp parallel for if (out.numel() > kParallelGrain)
    for (std::int64_t p = 0; p < rows; ++p)
      std::copy_n(src + kernels::index_select_source_row(p, ip, k, n) * inner, inner, dst + p * inner);
  });
}

void cpu::index_select_backward(const Tensor& g, const Tensor& index, const Tensor& grad, std::int64_t n, std::int64_t inner) {
  const std::int64_t k = index.numel();
  if (k * inner == 0) return;
  const std::int64_t outer = g.numel() / (k * inner);
  const std::int64_t* ip = index.data<std::int64_t>();
  dispatch_floating(grad.dtype(), "index_select backward", [&]<typename T>() {
    const T* src = g.data<T>();
    T* dst = grad.data<T>();
    // Parallel over outer only: within one outer slice two selections may hit the same row.
#pragma omp parallel for if (outer > 1 && g.numel() > kParallelGrain)
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t p = o * k; p < (o + 1) * k; ++p) {
        const T* row = src + p * inner;
        T* target = dst + kernels::index_select_source_row(p, ip, k, n) * inner;
        for (std::int64_t i = 0; i < inner; ++i) target[i] += row[i];
      }
  });
}

void cpu::gather(const Tensor& x, const Tensor& index, const Tensor& out, const kernels::GatherGeometry& geometry) {
  const std::int64_t count = out.numel();
  const std::int64_t* ip = index.data<std::int64_t>();
  dispatch(x.dtype(), [&]<typename T>() {
    const T* src = x.data<T>();
    T* dst = out.data<T>();
#pragma omp parallel for if (count > kParallelGrain)
    for (std::int64_t p = 0; p < count; ++p) dst[p] = src[geometry.source(ip, p)];
  });
}

void cpu::gather_backward(const Tensor& g, const Tensor& index, const Tensor& grad, const kernels::GatherGeometry& geometry) {
  const std::int64_t* ip = index.data<std::int64_t>();
  dispatch_floating(grad.dtype(), "gather backward", [&]<typename T>() {
    const T* src = g.data<T>();
    T* dst = grad.data<T>();
    // Serial: any two elements may gather from the same input position.
    for (std::int64_t p = 0; p < g.numel(); ++p) dst[geometry.source(ip, p)] += src[p];
  });
}

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index) {
  check_defined(x, "index_select");
  const Tensor idx = index_tensor(index, x, "index_select");
  if (idx.dim() > 1) throw std::invalid_argument("index_select: index must be 1-d, got " + describe(index));
  const std::int64_t d = wrap_dim(dim, x.dim(), "index_select");
  check_indices(idx, d, x, "index_select");

  const std::int64_t n = x.shape()[d];
  const std::int64_t inner = product(x.shape(), d + 1, x.dim());
  Shape out_shape = x.shape();
  out_shape[d] = idx.numel();
  Tensor out = Tensor::empty(out_shape, {.dtype = x.dtype(), .device = x.device()});
  const Tensor src = x.detach().contiguous();
  if (x.device().is_cuda()) cuda_kernel(&CudaKernels::index_select, x, "index_select")(src, idx, out, n, inner);
  else cpu::index_select(src, idx, out, n, inner);

  if (autograd::needs_grad({&x})) {
    autograd::record("index_select", out, {x}, [idx, in_shape = x.shape(), n, inner](const Tensor& g) -> std::vector<Tensor> {
      // Scatter-add: an index that repeats receives the sum of its rows' gradients.
      Tensor grad = zeros(in_shape, {.dtype = g.dtype(), .device = g.device()});
      const Tensor gc = g.contiguous();
      if (g.device().is_cuda()) cuda_kernel(&CudaKernels::index_select_backward, g, "index_select backward")(gc, idx, grad, n, inner);
      else cpu::index_select_backward(gc, idx, grad, n, inner);
      return {grad};
    });
  }
  return out;
}

Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index) {
  check_defined(x, "gather");
  const Tensor idx = index_tensor(index, x, "gather");
  if (idx.dim() != x.dim())
    throw std::invalid_argument("gather: index " + describe(index) + " must have the rank of the input " + describe(x));
  const std::int64_t d = wrap_dim(dim, x.dim(), "gather");
  for (std::int64_t k = 0; k < x.dim(); ++k)
    if (k != d && idx.shape()[k] > x.shape()[k])
      throw std::invalid_argument("gather: index " + describe(index) + " is larger than the input " + describe(x) +
                                  " in dimension " + std::to_string(k));
  check_indices(idx, d, x, "gather");

  // x is read in place, through its strides.
  Tensor out = Tensor::empty(idx.shape(), {.dtype = x.dtype(), .device = x.device()});
  const kernels::GatherGeometry geometry = gather_geometry(idx.shape(), x.strides(), d);
  if (x.device().is_cuda()) cuda_kernel(&CudaKernels::gather, x, "gather")(x, idx, out, geometry);
  else cpu::gather(x, idx, out, geometry);

  if (autograd::needs_grad({&x})) {
    autograd::record("gather", out, {x}, [idx, in_shape = x.shape(), d](const Tensor& g) -> std::vector<Tensor> {
      Tensor grad = zeros(in_shape, {.dtype = g.dtype(), .device = g.device()});
      const Tensor gc = g.contiguous();
      const kernels::GatherGeometry geometry = gather_geometry(idx.shape(), grad.strides(), d);
      if (g.device().is_cuda()) cuda_kernel(&CudaKernels::gather_backward, g, "gather backward")(gc, idx, grad, geometry);
      else cpu::gather_backward(gc, idx, grad, geometry);
      return {grad};
    });
  }
  return out;
}

Tensor one_hot(const Tensor& labels, std::int64_t num_classes) {
  const Tensor idx = index_tensor(labels, labels, "one_hot");
  if (num_classes <= 0) throw std::invalid_argument("one_hot: num_classes must be positive, got " + std::to_string(num_classes));
  const Tensor host = idx.to(Device::cpu());
  const std::int64_t* ip = host.data<std::int64_t>();
  for (std::int64_t i = 0; i < host.numel(); ++i)
    if (ip[i] < 0 || ip[i] >= num_classes)
      throw std::out_of_range("one_hot: label " + std::to_string(ip[i]) + " is out of range for " +
                              std::to_string(num_classes) + " classes (labels " + describe(labels) + ")");
  // Each label compared with every class: the comparison kernel, on either device.
  const Tensor classes = arange(0, static_cast<double>(num_classes), 1, {.dtype = DType::Int64, .device = idx.device()});
  return eq(idx.unsqueeze(-1), classes);
}

}  // namespace lamina
