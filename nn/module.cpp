#include <lamina/nn/module.h>

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <typeinfo>

#include <lamina/core/autograd.h>

namespace lamina::nn {
namespace {

Generator* g_init_generator = nullptr;
Generator& init_generator() { return g_init_generator ? *g_init_generator : default_generator(); }

bool shape_complete(const Shape& shape) {
  return std::all_of(shape.begin(), shape.end(), [](std::int64_t d) { return d >= 0; });
}

std::string join(const std::string& prefix, const std::string& name) {
  if (prefix.empty()) return name;
  return name.empty() ? prefix : prefix + "." + name;
}

// Replaces the data behind `t`'s handle, so every holder of the handle sees the new storage.
void rebind(const Tensor& t, const Tensor& replacement) {
  TensorImpl& impl = t.impl();
  impl.storage = replacement.storage();
  impl.offset = replacement.offset();
  impl.shape = replacement.shape();
  impl.strides = replacement.strides();
  impl.dtype = replacement.dtype();
}

// While a summary is taken, every module call appends (module, output shape) here.
thread_local std::vector<std::pair<const Module*, Shape>>* g_summary_calls = nullptr;

}  // namespace

void Module::set_init_generator(Generator* gen) { g_init_generator = gen; }

Tensor Module::forward(const Tensor&) {
  throw std::logic_error(type_name() + " does not implement forward(const Tensor&)");
}

Tensor Module::operator()(const Tensor& x) {
  Tensor y = forward(x);
  if (g_summary_calls) g_summary_calls->emplace_back(this, y.shape());
  return y;
}

std::string Module::type_name() const {
  const char* mangled = typeid(*this).name();
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : mangled;
  std::free(demangled);
  return name;
}

// --- registration ---

void Module::check_new_name(const std::string& name) const {
  if (name.empty() || name.find('.') != std::string::npos)
    throw std::invalid_argument(type_name() + ": invalid member name '" + name + "' (must be non-empty without '.')");
  if (!children_.empty() && children_.front().first.empty())
    throw std::invalid_argument(type_name() + ": cannot add '" + name + "' next to an unnamed (transparent) child");
  const auto taken = [&](const auto& list, auto key) {
    return std::any_of(list.begin(), list.end(), [&](const auto& e) { return key(e) == name; });
  };
  if (taken(children_, [](const auto& e) { return e.first; }) || taken(buffers_, [](const auto& e) { return e.first; }) ||
      taken(parameters_, [](const ParameterSlot& e) { return e.name; }))
    throw std::invalid_argument(type_name() + ": the name '" + name + "' is already registered");
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> child) {
  if (!child) throw std::invalid_argument(type_name() + ": register_module('" + name + "') with a null module");
  if (name.empty()) {
    if (!children_.empty() || !parameters_.empty() || !buffers_.empty())
      throw std::invalid_argument(type_name() + ": an unnamed child must be the module's only member");
    children_.emplace_back(name, std::move(child));
    return;
  }
  check_new_name(name);
  children_.emplace_back(name, std::move(child));
}

Tensor& Module::register_parameter(const std::string& name, Tensor value) {
  check_new_name(name);
  if (!value.defined()) throw std::invalid_argument(type_name() + ": parameter '" + name + "' is undefined");
  if (!value.is_leaf()) value = value.detach();
  value.requires_grad_(true);
  parameters_.push_back({name, value, value.shape(), nullptr});
  return parameters_.back().tensor;
}

Tensor& Module::register_parameter(const std::string& name, const Shape& shape, Initializer init) {
  check_new_name(name);
  Tensor t;
  if (shape_complete(shape)) {
    t = Tensor::empty(shape, {.dtype = dtype_});
    {
      NoGradGuard no_grad;
      init(t, init_generator());
    }
    t.requires_grad_(true);
  } else {
    auto impl = std::make_shared<TensorImpl>();
    impl->deferred = true;
    impl->dtype = dtype_;
    impl->requires_grad = true;
    impl->shape = shape;
    impl->strides = Shape(shape.size(), 0);
    t = Tensor(std::move(impl));
  }
  parameters_.push_back({name, t, shape, std::move(init)});
  return parameters_.back().tensor;
}

Tensor& Module::register_buffer(const std::string& name, Tensor value) {
  check_new_name(name);
  if (!value.defined()) throw std::invalid_argument(type_name() + ": buffer '" + name + "' is undefined");
  buffers_.emplace_back(name, value.detach());
  return buffers_.back().second;
}

void Module::materialize(const std::string& name, const Shape& shape) {
  auto it = std::find_if(parameters_.begin(), parameters_.end(), [&](const ParameterSlot& s) { return s.name == name; });
  if (it == parameters_.end()) throw std::logic_error(type_name() + ": no parameter '" + name + "' to materialize");
  ParameterSlot& slot = *it;
  for (std::size_t d = 0; d < slot.declared_shape.size() && d < shape.size(); ++d) {
    if (slot.declared_shape.size() != shape.size() || (slot.declared_shape[d] >= 0 && slot.declared_shape[d] != shape[d]))
      throw std::invalid_argument(type_name() + ": parameter '" + name + "' declared with shape " +
                                  shape_str(slot.declared_shape) + " cannot take shape " + shape_str(shape));
  }
  if (!slot.tensor.is_deferred()) {
    if (slot.tensor.shape() != shape)
      throw std::invalid_argument(type_name() + ": parameter '" + name + "' has shape " + shape_str(slot.tensor.shape()) +
                                  " but the input now needs " + shape_str(shape) +
                                  " (the input width changed after the first forward)");
    return;
  }
  Tensor fresh = Tensor::empty(shape, {.dtype = slot.tensor.dtype()});
  {
    NoGradGuard no_grad;
    slot.init(fresh, init_generator());
  }
  rebind(slot.tensor, fresh.to(device_));
  slot.tensor.impl().deferred = false;
}

// --- the tree ---

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const { return children_; }

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [name, child] : children_) out.push_back(child);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() const {
  std::vector<std::pair<std::string, Module*>> out{{"", const_cast<Module*>(this)}};
  for (const auto& [name, child] : children_) {
    for (auto& [sub, m] : child->named_modules()) {
      const bool seen = std::any_of(out.begin(), out.end(), [&](const auto& e) { return e.second == m; });
      if (!seen) out.emplace_back(join(name, sub), m);
    }
  }
  return out;
}

void Module::collect_parameters(const std::string& prefix, bool recurse, std::vector<std::pair<std::string, Tensor>>& out,
                                std::vector<const TensorImpl*>& seen) const {
  for (const ParameterSlot& slot : parameters_) {
    const TensorImpl* impl = slot.tensor.impl_ptr().get();
    if (std::find(seen.begin(), seen.end(), impl) != seen.end()) continue;
    seen.push_back(impl);
    out.emplace_back(join(prefix, slot.name), slot.tensor);
  }
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->collect_parameters(join(prefix, name), true, out, seen);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  std::vector<const TensorImpl*> seen;
  collect_parameters("", recurse, out, seen);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

void Module::collect_buffers(const std::string& prefix, bool recurse, std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [name, t] : buffers_) {
    const bool seen = std::any_of(out.begin(), out.end(), [&](const auto& e) { return e.second.is_same(t); });
    if (!seen) out.emplace_back(join(prefix, name), t);
  }
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->collect_buffers(join(prefix, name), true, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect_buffers("", recurse, out);
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

void Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& [name, m] : named_modules()) fn(*m);
}

// --- state ---

StateDict Module::state_dict() const {
  StateDict state;
  for (const auto& [name, t] : named_parameters()) {
    if (t.is_deferred())
      throw std::logic_error("state_dict: parameter '" + name +
                             "' is deferred (its shape is not known yet); run a forward pass first");
    state.insert(name, t);
  }
  for (const auto& [name, t] : named_buffers()) state.insert(name, t);
  return state;
}

void Module::load_state_dict(const StateDict& state, bool strict) {
  std::vector<std::pair<std::string, Tensor>> targets = named_parameters();
  for (auto& entry : named_buffers()) targets.push_back(entry);

  // Check everything first, so that a failed load changes nothing.
  std::vector<std::string> missing, mismatched, unexpected;
  for (const auto& [name, t] : targets) {
    const Tensor* src = state.find(name);
    if (!src) {
      missing.push_back(name);
    } else if (!t.is_deferred() && src->shape() != t.shape()) {
      mismatched.push_back(name + " (checkpoint " + shape_str(src->shape()) + ", model " + shape_str(t.shape()) + ")");
    }
  }
  for (const auto& [name, t] : state) {
    const bool known = std::any_of(targets.begin(), targets.end(), [&](const auto& e) { return e.first == name; });
    if (!known) unexpected.push_back(name);
  }
  if (!mismatched.empty() || (strict && (!missing.empty() || !unexpected.empty()))) {
    std::string msg = "load_state_dict: the state does not match the model";
    const auto list = [&](const char* what, const std::vector<std::string>& names) {
      if (names.empty()) return;
      msg += std::string("; ") + what + ":";
      for (const auto& n : names) msg += " " + n;
    };
    list("missing keys", missing);
    list("unexpected keys", unexpected);
    list("shape mismatch", mismatched);
    throw std::invalid_argument(msg);
  }

  NoGradGuard no_grad;
  for (const auto& [name, t] : targets) {
    const Tensor* src = state.find(name);
    if (!src) continue;
    if (t.is_deferred()) {
      rebind(t, src->to(t.device()).to(t.dtype()).clone());
      t.impl().deferred = false;
    } else {
      Tensor(t).copy_(src->device() == t.device() ? *src : src->to(t.device()));
    }
  }
}

// --- mode, placement, initialization ---

void Module::train(bool on) {
  apply([on](Module& m) { m.training_ = on; });
}

void Module::to(Device device) {
  apply([device](Module& m) { m.device_ = device; });
  auto move = [&](const Tensor& t) {
    if (!t.defined() || t.is_deferred() || t.device() == device) return;
    rebind(t, t.detach().to(device));
    if (t.impl().grad) rebind(Tensor(t.impl().grad), Tensor(t.impl().grad).to(device));
  };
  for (auto& [name, t] : named_parameters()) move(t);
  for (auto& [name, t] : named_buffers()) move(t);
}

void Module::to(DType dtype) {
  if (!is_floating(dtype)) throw std::invalid_argument(std::string("Module::to: parameters must be floating, not ") + dtype_name(dtype));
  apply([dtype](Module& m) { m.dtype_ = dtype; });
  auto convert = [&](const Tensor& t) {
    if (!t.defined() || !is_floating(t.dtype())) return;
    if (t.is_deferred()) {
      t.impl().dtype = dtype;
      return;
    }
    rebind(t, t.detach().to(dtype));
    t.impl().grad = nullptr;
  };
  for (auto& [name, t] : named_parameters()) convert(t);
  for (auto& [name, t] : named_buffers()) convert(t);
}

void Module::zero_grad() {
  for (auto& t : parameters()) t.impl().grad = nullptr;
}

void Module::initialize(const Initializer& init, const std::function<bool(const std::string&)>& applies_to) {
  apply([&](Module& m) {
    for (ParameterSlot& slot : m.parameters_) {
      if (applies_to && !applies_to(slot.name)) continue;
      slot.init = init;
      if (slot.tensor.is_deferred()) continue;
      NoGradGuard no_grad;
      Tensor t = slot.tensor.detach();
      init(t, init_generator());
    }
  });
}

std::string Module::summary(const Tensor& input) {
  std::vector<std::pair<const Module*, Shape>> calls;
  g_summary_calls = &calls;
  try {
    NoGradGuard no_grad;
    (*this)(input);
  } catch (...) {
    g_summary_calls = nullptr;
    throw;
  }
  g_summary_calls = nullptr;

  std::ostringstream os;
  std::int64_t total = 0;
  os << "input " << shape_str(input.shape()) << "\n";
  for (const auto& [name, m] : named_modules()) {
    std::int64_t own = 0;
    for (const auto& [pname, t] : m->named_parameters(false)) own += t.is_deferred() ? 0 : t.numel();
    total += own;
    const int depth = name.empty() ? 0 : static_cast<int>(std::count(name.begin(), name.end(), '.')) + 1;
    std::string shape = "-";
    for (const auto& [callee, out] : calls)
      if (callee == m) shape = shape_str(out);  // the last call's output
    std::string label = std::string(2 * depth, ' ') + (name.empty() ? "" : name + ": ") + m->type_name();
    if (const std::string extra = m->extra_repr(); !extra.empty()) label += "(" + extra + ")";
    os << label << std::string(label.size() < 48 ? 48 - label.size() : 1, ' ') << shape;
    if (own) os << "  params " << own;
    os << "\n";
  }
  os << "total parameters: " << total << "\n";
  return os.str();
}

}  // namespace lamina::nn
