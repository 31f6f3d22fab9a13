#pragma once
// Tensor: a cheap handle (a shared pointer) to an n-dimensional strided view of a Storage, plus the autograd
// state of that view. Copying a Tensor copies the handle, never the data: `Tensor b = a;` aliases `a`.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <lamina/core/device.h>
#include <lamina/core/dtype.h>
#include <lamina/core/storage.h>

namespace lamina {

using Shape = std::vector<std::int64_t>;
std::string shape_str(const Shape& shape);
std::int64_t shape_numel(const Shape& shape);
Shape contiguous_strides(const Shape& shape);

class Tensor;
struct Node;

struct TensorOptions {
  DType dtype = DType::Float32;
  Device device = Device::cpu();
  bool requires_grad = false;
};

struct TensorImpl {
  Storage storage;
  std::int64_t offset = 0;  // in elements
  Shape shape;
  Shape strides;  // in elements
  DType dtype = DType::Float32;
  // A parameter declared before its shape is known (deferred initialization): it has no storage until a
  // module materializes it at its first forward, and using it before then is an error.
  bool deferred = false;

  // Autograd. A tensor produced by a recorded op has grad_fn; a leaf that requires grad has neither grad_fn nor
  // (until its first backward) grad.
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<Node> grad_fn;
  std::weak_ptr<Node> grad_accumulator;  // the leaf's AccumulateGrad node, shared by every use in one graph
  struct PostAccumulateGradHook {
    std::uint64_t key;
    std::function<void(Tensor&)> run;
  };
  std::vector<PostAccumulateGradHook> post_accumulate_grad_hooks;
  // Where backward may write the leaf's gradient when it has none (see Tensor::set_grad_destination), and the
  // backward pass that last took it: a destination is handed out at most once per pass.
  std::shared_ptr<TensorImpl> grad_destination;
  std::uint64_t grad_destination_pass = 0;
};

class Tensor {
 public:
  Tensor() = default;  // undefined: holds nothing
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  // A new contiguous, uninitialized tensor.
  static Tensor empty(const Shape& shape, TensorOptions options = {});

  bool defined() const { return impl_ != nullptr; }
  bool is_deferred() const { return impl_ != nullptr && impl_->deferred; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  std::int64_t dim() const { return static_cast<std::int64_t>(impl().shape.size()); }
  // Size of dimension `d`; negative `d` counts from the end.
  std::int64_t size(std::int64_t d) const;
  std::int64_t numel() const { return shape_numel(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage.device(); }
  bool is_contiguous() const;
  std::int64_t offset() const { return impl().offset; }
  const Storage& storage() const { return impl().storage; }

  // Typed pointer to the first element (checks the dtype).
  template <typename T> T* data() const {
    check_dtype(dtype_of<T>());
    return static_cast<T*>(impl().storage.data()) + impl().offset;
  }
  void* raw_data() const;
  // The value of a one-element tensor, converted to double.
  double item() const;
  template <typename T> T item() const { return static_cast<T>(item()); }
  // Copies all elements out, in row-major order.
  template <typename T> std::vector<T> to_vector() const;

  // --- autograd ---
  bool requires_grad() const { return impl().requires_grad; }
  // Marks a leaf as needing a gradient (an error on a non-leaf). Returns *this for chaining.
  Tensor& requires_grad_(bool value = true);
  Tensor grad() const;
  void set_grad(const Tensor& grad);
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  // Back-propagates from this tensor. A non-scalar needs `gradient` of its shape. Without retain_graph the
  // graph's saved tensors are freed, and a second backward through it is an error.
  void backward(const Tensor& gradient = {}, bool retain_graph = false) const;
  // The same data without autograd history.
  Tensor detach() const;
  // Runs `hook(tensor)` after each backward pass has accumulated this leaf's gradient into .grad(). Returns the
  // key that removes it.
  std::uint64_t register_post_accumulate_grad_hook(std::function<void(Tensor&)> hook);
  // Removes the hook registered under `key` (nothing if there is none). Not from inside a hook.
  void remove_post_accumulate_grad_hook(std::uint64_t key);
  // Lets backward compute this leaf's gradient straight into `destination` (contiguous, same shape, dtype and
  // device) when .grad() is undefined: an op that can (the weight gradients of linear, linear_relu and conv2d,
  // and the bias gradients of the last two) writes it there instead of into a new tensor, and .grad() becomes
  // `destination`. Other ops' gradients arrive as before. Give each leaf a destination of its own: two leaves
  // sharing one would write the same memory. An undefined destination removes it.
  // DistributedDataParallel points it at the parameter's place in its bucket, which saves copying the gradient in
  // (Megatron-LM's gradient-accumulation fusion does the same for its main_grad).
  void set_grad_destination(const Tensor& destination);

  // --- views (share storage; differentiable) ---
  Tensor reshape(const Shape& shape) const;  // a view when the layout allows, else a copy
  Tensor view(const Shape& shape) const;     // always a view; an error when the layout does not allow it
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
  Tensor transpose(std::int64_t dim0, std::int64_t dim1) const;
  Tensor t() const { return transpose(0, 1); }
  Tensor permute(const Shape& dims) const;
  Tensor slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
  Tensor select(std::int64_t dim, std::int64_t index) const;
  Tensor unsqueeze(std::int64_t dim) const;
  Tensor squeeze(std::int64_t dim) const;
  Tensor expand(const Shape& shape) const;
  Tensor contiguous() const;
  // A view of the same storage with any layout (offset in elements from the storage start). Not recorded by
  // autograd: for kernels that walk sub-blocks of a tensor.
  Tensor as_strided(const Shape& shape, const Shape& strides, std::int64_t storage_offset) const;

  // --- copies and conversion ---
  Tensor clone() const;
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  // A copy in page-locked host memory (needs lamina::cuda), whose copies to a GPU run at the bus's full speed; the
  // data loader's batches use it. A pinned tensor returns itself.
  Tensor pin_memory() const;
  bool is_pinned() const { return storage().is_pinned(); }

  // --- math (differentiable; see the op headers for the free-function forms) ---
  Tensor abs() const;
  Tensor neg() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor pow(double exponent) const;
  Tensor clamp(double lo, double hi) const;
  Tensor relu() const;
  Tensor sigmoid() const;
  Tensor tanh() const;
  Tensor gelu() const;
  Tensor sum() const;
  Tensor sum(const Shape& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const Shape& dims, bool keepdim = false) const;
  Tensor max() const;
  Tensor max(std::int64_t dim, bool keepdim = false) const;
  Tensor argmax() const;
  Tensor argmax(std::int64_t dim, bool keepdim = false) const;
  Tensor matmul(const Tensor& other) const;
  Tensor softmax(std::int64_t dim) const;
  Tensor log_softmax(std::int64_t dim) const;

  // --- in place, not recorded by autograd (optimizer steps, initialization) ---
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  Tensor& copy_(const Tensor& src);  // src broadcast to this shape; dtypes may differ
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& mul_(double value);

  std::string str() const;
  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  void check_dtype(DType expected) const;
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// --- factories ---
Tensor zeros(const Shape& shape, TensorOptions options = {});
Tensor ones(const Shape& shape, TensorOptions options = {});
Tensor full(const Shape& shape, double value, TensorOptions options = {});
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor arange(double start, double end, double step = 1.0, TensorOptions options = {});
Tensor scalar_tensor(double value, TensorOptions options = {});
// Copies `values` into a new tensor of `shape` (numel must match) with the element type of T.
template <typename T> Tensor from_vector(const std::vector<T>& values, const Shape& shape, bool requires_grad = false);
// Wraps host memory owned elsewhere without copying; `owner` keeps it alive.
Tensor from_blob(std::shared_ptr<void> owner, void* data, const Shape& shape, DType dtype);

}  // namespace lamina
