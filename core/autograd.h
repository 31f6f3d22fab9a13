#pragma once
// Define-by-run autograd. Every differentiable op whose inputs require grad records a Node on its output: the
// backward formula plus edges to the nodes that produced its inputs. backward() walks that graph from the output
// in reverse topological order; a leaf's edges end in its AccumulateGrad node, which adds into .grad() (so a
// tensor used twice receives the sum of both paths) and then runs the leaf's post-accumulate hooks.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <lamina/core/tensor.h>

namespace lamina {

struct Node {
  // One gradient per input of the op; an undefined Tensor where an input needs none.
  using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

  Node(std::string name, BackwardFn fn) : name(std::move(name)), backward(std::move(fn)) {}
  virtual ~Node() = default;
  virtual std::vector<Tensor> apply(const Tensor& grad_output);
  // Drops the saved tensors; a later apply() reports a freed graph.
  virtual void release() { backward = nullptr; released = true; }

  std::string name;
  BackwardFn backward;
  bool released = false;
  // next[i] receives the gradient for input i (nullptr where input i does not require grad).
  std::vector<std::shared_ptr<Node>> next;
};

// The terminal node of a leaf that requires grad.
struct AccumulateGrad : Node {
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf);
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release() override {}
  std::shared_ptr<TensorImpl> leaf;
};

// Whether ops record the graph (thread-local; on by default).
struct GradMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

// Switches recording off for its scope: evaluation, optimizer steps, initialization.
class NoGradGuard {
 public:
  NoGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

namespace autograd {

// True when grad mode is on and any of `inputs` requires grad: the op must record a node.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Attaches a node named `name` with backward `fn` to `output`, with edges to `inputs`.
// Call only when needs_grad(inputs) is true.
void record(const char* name, Tensor& output, const std::vector<Tensor>& inputs, Node::BackwardFn fn);

// The tensor a backward formula should write the gradient of `input` into: the leaf's grad destination (see
// Tensor::set_grad_destination) when `input` is a leaf with one, no gradient yet, and a destination of `shape`,
// `dtype` and `device` not already taken in this backward pass; otherwise a new tensor. Either way the formula
// overwrites all of it. Call it only inside a backward formula.
Tensor grad_output_for(const Tensor& input, const Shape& shape, TensorOptions options);

// Sums `grad` over broadcast dimensions so that it has `shape` (the backward of broadcasting).
Tensor sum_to(const Tensor& grad, const Shape& shape);

// Runs backward from `root` seeded with `grad` (see Tensor::backward).
void backward(const Tensor& root, const Tensor& grad, bool retain_graph);

// Runs `callback` once when the backward pass now running on this thread has finished (after every gradient has
// been accumulated and every hook has run). Called outside a backward pass, it is an error. This is how
// DistributedDataParallel waits for its last all-reduces: gradients some parameters never receive would
// otherwise leave it waiting.
void queue_callback(std::function<void()> callback);

}  // namespace autograd
}  // namespace lamina
