#include <lamina/core/checks.h>

#include <stdexcept>

#include <lamina/core/cuda_kernels.h>

namespace lamina {

std::string describe(const Tensor& t) {
  if (!t.defined()) return "undefined";
  std::string s = std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape());
  if (!t.device().is_cpu()) s += " on " + t.device().str();
  return s;
}

void check_defined(const Tensor& t, const char* op, const char* what) {
  if (!t.defined()) throw std::invalid_argument(std::string(op) + ": " + what + " is an undefined tensor");
  if (t.is_deferred())
    throw std::invalid_argument(std::string(op) + ": " + what +
                                " is a deferred parameter whose shape is not known yet (run a forward pass first)");
}

void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  if (a.dtype() != b.dtype())
    throw std::invalid_argument(std::string(op) + ": dtypes differ (" + describe(a) + " and " + describe(b) + ")");
}

void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  if (!(a.device() == b.device()))
    throw std::invalid_argument(std::string(op) + ": tensors on different devices (" + describe(a) + " and " +
                                describe(b) + ")");
}

void check_cpu(const Tensor& t, const char* op) {
  if (!t.device().is_cpu()) throw_no_cuda_kernel(t, op);
}

void check_dim(const Tensor& t, std::int64_t expected, const char* op, const char* what) {
  if (t.dim() != expected)
    throw std::invalid_argument(std::string(op) + ": expected a " + std::to_string(expected) + "-d " + what + ", got " +
                                describe(t));
}

void check_floating(const Tensor& t, const char* op) {
  if (!is_floating(t.dtype()))
    throw std::invalid_argument(std::string(op) + ": expected a floating-point tensor, got " + describe(t));
}

std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op) {
  const std::int64_t d = dim < 0 ? dim + ndim : dim;
  if (d < 0 || d >= ndim)
    throw std::out_of_range(std::string(op) + ": dimension " + std::to_string(dim) + " is out of range for a " +
                            std::to_string(ndim) + "-d tensor");
  return d;
}

}  // namespace lamina
