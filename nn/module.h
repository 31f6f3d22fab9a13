#pragma once
// Module: the one class for a layer, a block of layers, or a whole model.
//
// The framework asks five things of every module: take input in forward(x); return output (of any shape); get
// gradients of the output from autograd (for free); store and expose its parameters; initialize them (a default,
// or an initializer the user passes). A subclass writes a constructor and forward(); the base class supplies the
// bookkeeping: registration of children, parameters and buffers, and the recursive walks over the tree that
// parameters(), state_dict(), to(device), train()/eval() and initialize() are built on.
//
//   struct MLP : nn::Module {
//     nn::Child<nn::Linear> hidden{this, "hidden", 256, nn::Activation::ReLU};
//     nn::Child<nn::Linear> out{this, "out", 10};
//     Tensor forward(const Tensor& x) override { return out(hidden(x)); }
//   };
//
// A Child member registers itself with its owner under the given name when it is constructed — the C++ form of
// Python's "assigning a module to an attribute registers it as a child". register_module() does the same for
// children created any other way.
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <lamina/core/tensor.h>
#include <lamina/nn/init.h>
#include <lamina/nn/state_dict.h>

namespace lamina::nn {

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // A module owns its place in a tree: copying one would silently share or duplicate parameters.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) = default;
  Module& operator=(Module&&) = default;

  // The computation. Modules that take one tensor override this one.
  virtual Tensor forward(const Tensor& x);
  // Calls forward(x) (and records the output shape while a summary is being taken).
  Tensor operator()(const Tensor& x);

  // The name shown by summary() and in messages: "Linear", "Sequential", or the C++ class name.
  virtual std::string type_name() const;
  // Extra text for summary(), e.g. "in=784, out=256".
  virtual std::string extra_repr() const { return {}; }

  // --- registration ---
  // An empty name registers a transparent child: its members appear under their own names, as if they were this
  // module's (how DistributedDataParallel wraps a model without renaming its state). It must be the only member.
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  // Registers `value` as a trainable parameter (it is made to require grad) and returns the stored handle.
  Tensor& register_parameter(const std::string& name, Tensor value);
  // Declares a parameter whose shape may still contain unknown (-1) dimensions: it is created at once when the
  // shape is complete, else at the first forward through materialize(). `init` fills it when it is created.
  Tensor& register_parameter(const std::string& name, const Shape& shape, Initializer init);
  // Registers a tensor that is state but not trained (running statistics, constants): in state_dict, moved by
  // to(), never given a gradient.
  Tensor& register_buffer(const std::string& name, Tensor value);

  // Gives deferred parameter `name` its full shape and initializes it. A no-op once materialized with that shape;
  // a different shape on a later call is an error naming the parameter.
  void materialize(const std::string& name, const Shape& shape);

  // --- the tree ---
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  std::vector<std::shared_ptr<Module>> children() const;
  // This module and every descendant, depth first, each once; names are dotted paths ("" for this module).
  std::vector<std::pair<std::string, Module*>> named_modules() const;
  // Every parameter in the tree with its dotted name ("hidden.weight"), in registration order; a parameter
  // shared by two modules appears once, under the first name it is reached by.
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  // Calls fn on this module and every descendant.
  void apply(const std::function<void(Module&)>& fn);

  // --- state ---
  // Parameters then buffers of every module, keyed by dotted name (aliases of the tensors, not copies).
  StateDict state_dict() const;
  // Copies values in. strict: every key must match a parameter or buffer, with the same shape. All problems are
  // reported together in one exception, and nothing is changed unless everything checks.
  void load_state_dict(const StateDict& state, bool strict = true);

  // --- mode, placement, initialization ---
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Moves every parameter, buffer and gradient, in place: handles held elsewhere (an optimizer's) stay valid.
  void to(Device device);
  // Converts every floating parameter and buffer (and the dtype deferred parameters will get).
  void to(DType dtype);
  void zero_grad();
  // Re-initializes every parameter with `init` — also those still deferred, when they are materialized. With
  // `applies_to`, only the parameters whose own name (e.g. "weight") it accepts.
  void initialize(const Initializer& init, const std::function<bool(const std::string&)>& applies_to = {});
  // The generator initializers draw from (default: lamina's default generator).
  static void set_init_generator(Generator* gen);

  // Runs forward on `input` and returns the tree as text: one line per module with its output shape and its own
  // parameter count, then the totals.
  std::string summary(const Tensor& input);

 private:
  struct ParameterSlot {
    std::string name;
    Tensor tensor;
    Shape declared_shape;
    Initializer init;
  };
  void add_child(const std::string& name, std::shared_ptr<Module> child);
  void check_new_name(const std::string& name) const;
  void collect_parameters(const std::string& prefix, bool recurse, std::vector<std::pair<std::string, Tensor>>& out,
                          std::vector<const TensorImpl*>& seen) const;
  void collect_buffers(const std::string& prefix, bool recurse, std::vector<std::pair<std::string, Tensor>>& out) const;

  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::vector<ParameterSlot> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  bool training_ = true;
  DType dtype_ = DType::Float32;  // for parameters materialized later
  Device device_ = Device::cpu();  // likewise (they are initialized on the host, then moved)
};

// A member that creates a child module and registers it with its owner under `name`:
//   nn::Child<nn::Linear> hidden{this, "hidden", 256};
// Use it like a pointer (hidden->weight) or call it (hidden(x)).
template <typename M>
class Child {
 public:
  template <typename... Args>
  Child(Module* owner, const std::string& name, Args&&... args)
      : module_(owner->register_module(name, std::make_shared<M>(std::forward<Args>(args)...))) {}
  Child(Module* owner, const std::string& name, std::shared_ptr<M> module)
      : module_(owner->register_module(name, std::move(module))) {}

  Tensor operator()(const Tensor& x) const { return (*module_)(x); }
  M* operator->() const { return module_.get(); }
  M& operator*() const { return *module_; }
  const std::shared_ptr<M>& ptr() const { return module_; }

 private:
  std::shared_ptr<M> module_;
};

}  // namespace lamina::nn
