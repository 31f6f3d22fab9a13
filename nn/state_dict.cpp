#include <lamina/nn/state_dict.h>

#include <stdexcept>

namespace lamina::nn {

void StateDict::insert(const std::string& name, const Tensor& value) {
  if (contains(name)) throw std::invalid_argument("StateDict: duplicate key '" + name + "'");
  entries_.emplace_back(name, value);
}

const Tensor* StateDict::find(const std::string& name) const {
  for (const auto& [key, value] : entries_)
    if (key == name) return &value;
  return nullptr;
}

const Tensor& StateDict::at(const std::string& name) const {
  if (const Tensor* t = find(name)) return *t;
  throw std::out_of_range("StateDict: no key '" + name + "'");
}

std::vector<std::string> StateDict::keys() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [key, value] : entries_) out.push_back(key);
  return out;
}

}  // namespace lamina::nn
