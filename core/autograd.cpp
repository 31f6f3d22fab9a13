#include <lamina/core/autograd.h>

#include <stdexcept>
#include <unordered_map>

#include <lamina/core/elementwise.h>
#include <lamina/core/reduction.h>

namespace lamina {

namespace {
thread_local bool g_grad_enabled = true;
thread_local bool g_in_backward = false;
thread_local std::vector<std::function<void()>> g_final_callbacks;
thread_local std::uint64_t g_backward_pass = 0;  // counts top-level backward passes on this thread

std::shared_ptr<Node> grad_accumulator(const Tensor& leaf) {
  TensorImpl& impl = leaf.impl();
  if (auto existing = impl.grad_accumulator.lock()) return existing;
  auto node = std::make_shared<AccumulateGrad>(leaf.impl_ptr());
  impl.grad_accumulator = node;
  return node;
}

// The node that receives the gradient of `t`: its grad_fn, its AccumulateGrad if it is a leaf that requires
// grad, or nothing.
std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return nullptr;
  if (t.grad_fn()) return t.grad_fn();
  return grad_accumulator(t);
}
}  // namespace

bool GradMode::is_enabled() { return g_grad_enabled; }
void GradMode::set_enabled(bool enabled) { g_grad_enabled = enabled; }

std::vector<Tensor> Node::apply(const Tensor& grad_output) {
  if (released)
    throw std::runtime_error("backward through '" + name +
                             "' a second time: its saved tensors were freed after the first backward; pass "
                             "retain_graph=true to the first backward to keep them");
  return backward(grad_output);
}

AccumulateGrad::AccumulateGrad(std::shared_ptr<TensorImpl> leaf_impl) : Node("AccumulateGrad", nullptr), leaf(std::move(leaf_impl)) {}

std::vector<Tensor> AccumulateGrad::apply(const Tensor& grad) {
  Tensor param(leaf);
  if (grad.shape() != param.shape())
    throw std::logic_error("AccumulateGrad: gradient of shape " + shape_str(grad.shape()) + " for a leaf of shape " +
                           shape_str(param.shape()));
  const TensorImpl* destination = leaf->grad_destination.get();
  if (!leaf->grad && destination && grad.storage().data() == destination->storage.data() &&
      grad.offset() == destination->offset && grad.shape() == destination->shape && grad.is_contiguous()) {
    leaf->grad = leaf->grad_destination;  // the backward formula wrote the gradient in place (grad_output_for)
  } else if (!leaf->grad) {
    // Take the incoming buffer when nothing else can see it; otherwise copy so the leaf owns its gradient.
    const bool exclusive = grad.impl_ptr().use_count() == 1 && grad.storage().use_count() == 1 && grad.is_contiguous() &&
                           grad.dtype() == param.dtype();
    Tensor owned = exclusive ? grad.detach() : grad.detach().to(param.dtype()).clone();
    leaf->grad = owned.impl_ptr();
  } else {
    Tensor(leaf->grad).add_(grad.dtype() == param.dtype() ? grad : grad.to(param.dtype()));
  }
  for (auto& hook : leaf->post_accumulate_grad_hooks) hook.run(param);
  return {};
}

namespace autograd {

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(const char* name, Tensor& output, const std::vector<Tensor>& inputs, Node::BackwardFn fn) {
  auto node = std::make_shared<Node>(name, std::move(fn));
  node->next.reserve(inputs.size());
  for (const Tensor& t : inputs) node->next.push_back(gradient_edge(t));
  TensorImpl& impl = output.impl();
  impl.requires_grad = true;
  impl.grad_fn = std::move(node);
}

Tensor grad_output_for(const Tensor& input, const Shape& shape, TensorOptions options) {
  TensorImpl& impl = input.impl();
  const std::shared_ptr<TensorImpl>& destination = impl.grad_destination;
  // Taken once per pass: a leaf used twice gets its second contribution in a new tensor, and the engine sums the
  // two into a third, which AccumulateGrad then stores (the destination is no longer its gradient's buffer).
  if (impl.grad_fn || impl.grad || !destination || impl.grad_destination_pass == g_backward_pass ||
      destination->shape != shape || destination->dtype != options.dtype || !(destination->storage.device() == options.device))
    return Tensor::empty(shape, options);
  impl.grad_destination_pass = g_backward_pass;
  return Tensor(destination);
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const std::int64_t lead = grad.dim() - static_cast<std::int64_t>(shape.size());
  Shape dims;
  for (std::int64_t d = 0; d < grad.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && grad.shape()[d] != 1)) dims.push_back(d);
  Tensor reduced = lamina::sum(grad, dims, /*keepdim=*/true);
  return reduced.reshape(shape);
}

void queue_callback(std::function<void()> callback) {
  if (!g_in_backward) throw std::logic_error("queue_callback: no backward pass is running on this thread");
  g_final_callbacks.push_back(std::move(callback));
}

namespace {
void run_graph(const Tensor& root, const Tensor& grad, bool retain_graph);
}

void backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
  if (g_in_backward) {  // a backward started from a hook: no callbacks of its own
    run_graph(root, grad, retain_graph);
    return;
  }
  g_in_backward = true;
  ++g_backward_pass;
  g_final_callbacks.clear();
  try {
    run_graph(root, grad, retain_graph);
    // Callbacks may queue further callbacks; run until none is left.
    for (std::size_t i = 0; i < g_final_callbacks.size(); ++i) {
      auto callback = std::move(g_final_callbacks[i]);
      callback();
    }
  } catch (...) {
    g_in_backward = false;
    g_final_callbacks.clear();
    throw;
  }
  g_in_backward = false;
  g_final_callbacks.clear();
}

namespace {
void run_graph(const Tensor& root, const Tensor& grad, bool retain_graph) {
  if (!root.requires_grad())
    throw std::invalid_argument("backward: the tensor does not require grad and has no grad_fn (did the forward run "
                                "under NoGradGuard, or does no input require grad?)");
  Tensor seed = grad;
  if (!seed.defined()) {
    if (root.numel() != 1)
      throw std::invalid_argument("backward: a gradient argument is required for a non-scalar output of shape " +
                                  shape_str(root.shape()));
    seed = ones_like(root);
  } else if (seed.shape() != root.shape()) {
    throw std::invalid_argument("backward: gradient of shape " + shape_str(seed.shape()) + " for an output of shape " +
                                shape_str(root.shape()));
  }
  std::shared_ptr<Node> start = gradient_edge(root);

  // Count, for every node reachable from the root, how many edges lead into it: a node runs only when all the
  // gradient contributions it will receive have arrived.
  std::unordered_map<Node*, int> dependencies;
  std::vector<Node*> stack{start.get()};
  dependencies[start.get()] = 0;
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const auto& next : node->next) {
      if (!next) continue;
      auto [it, inserted] = dependencies.try_emplace(next.get(), 0);
      ++it->second;
      if (inserted) stack.push_back(next.get());
    }
  }

  NoGradGuard no_grad;  // backward formulas are not themselves recorded
  std::unordered_map<Node*, Tensor> pending;
  pending[start.get()] = seed;
  std::vector<std::shared_ptr<Node>> ready{start};
  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    // A node whose every contribution was undefined still runs its bookkeeping, so its successors' counts drop.
    Tensor g;
    if (auto it = pending.find(node.get()); it != pending.end()) {
      g = std::move(it->second);
      pending.erase(it);
    }
    std::vector<Tensor> input_grads;
    if (g.defined()) input_grads = node->apply(g);
    g = Tensor();
    if (!retain_graph) node->release();
    for (std::size_t i = 0; i < node->next.size(); ++i) {
      const std::shared_ptr<Node>& next = node->next[i];
      if (!next) continue;
      if (i < input_grads.size() && input_grads[i].defined()) {
        Tensor& slot = pending[next.get()];
        slot = slot.defined() ? add(slot, input_grads[i]) : std::move(input_grads[i]);
      }
      if (--dependencies[next.get()] == 0) ready.push_back(next);
    }
  }
}
}  // namespace

}  // namespace autograd
}  // namespace lamina
