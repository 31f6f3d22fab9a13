#include <lamina/nn/optimizer.h>

#include <algorithm>
#include <stdexcept>

#include <lamina/core/autograd.h>

namespace lamina::nn {

Optimizer::Optimizer(NamedParameters parameters, double lr) : parameters_(std::move(parameters)), lr_(lr) {
  if (lr < 0) throw std::invalid_argument("Optimizer: learning rate must be non-negative, got " + std::to_string(lr));
  for (std::size_t i = 0; i < parameters_.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (parameters_[i].first == parameters_[j].first)
        throw std::invalid_argument("Optimizer: parameter name '" + parameters_[i].first + "' appears twice");
}

void Optimizer::zero_grad(bool set_to_none) {
  for (auto& [name, p] : parameters_) {
    if (p.is_deferred() || !p.grad().defined()) continue;
    if (set_to_none) p.set_grad(Tensor());
    else p.grad().zero_();
  }
}

Tensor Optimizer::state(const std::string& kind, const std::string& name, const Tensor& param) {
  const std::string key = kind + "." + name;
  for (auto& [k, t] : state_)
    if (k == key) return t;
  state_.emplace_back(key, zeros(param.shape(), {.dtype = param.dtype(), .device = param.device()}));
  return state_.back().second;
}

bool Optimizer::has_state(const std::string& kind, const std::string& name) const {
  const std::string key = kind + "." + name;
  return std::any_of(state_.begin(), state_.end(), [&](const auto& e) { return e.first == key; });
}

StateDict Optimizer::state_dict() const {
  StateDict out;
  for (auto& [key, value] : const_cast<Optimizer*>(this)->hyperparameters())
    out.insert("hyper." + key, scalar_tensor(*value, {.dtype = DType::Float64}));
  out.insert("steps", scalar_tensor(static_cast<double>(steps_), {.dtype = DType::Int64}));
  for (const auto& [key, t] : state_) out.insert("state." + key, t);
  return out;
}

void Optimizer::load_state_dict(const StateDict& state) {
  // Validate everything before changing anything.
  std::vector<std::pair<std::string, Tensor>> loaded;
  for (const auto& [key, t] : state) {
    if (key.rfind("state.", 0) != 0) continue;
    const std::string rest = key.substr(6);
    const auto dot = rest.find('.');
    if (dot == std::string::npos) throw std::invalid_argument("Optimizer::load_state_dict: malformed key '" + key + "'");
    const std::string name = rest.substr(dot + 1);
    auto it = std::find_if(parameters_.begin(), parameters_.end(), [&](const auto& p) { return p.first == name; });
    if (it == parameters_.end())
      throw std::invalid_argument("Optimizer::load_state_dict: state '" + key + "' is for a parameter '" + name +
                                  "' this optimizer does not have");
    if (!it->second.is_deferred() && it->second.shape() != t.shape())
      throw std::invalid_argument("Optimizer::load_state_dict: state '" + key + "' has shape " + shape_str(t.shape()) +
                                  " but parameter '" + name + "' has shape " + shape_str(it->second.shape()));
    loaded.emplace_back(rest, t.to(it->second.device()).to(it->second.dtype()).clone());
  }
  auto hypers = hyperparameters();
  for (auto& [key, value] : hypers)
    if (!state.contains("hyper." + key))
      throw std::invalid_argument("Optimizer::load_state_dict: missing hyperparameter '" + key + "'");
  if (!state.contains("steps")) throw std::invalid_argument("Optimizer::load_state_dict: missing 'steps'");

  for (auto& [key, value] : hypers) *value = state.at("hyper." + key).item();
  steps_ = state.at("steps").item<std::int64_t>();
  state_ = std::move(loaded);
}

}  // namespace lamina::nn
