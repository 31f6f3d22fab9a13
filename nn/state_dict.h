#pragma once
// StateDict: an ordered map from dotted names ("hidden.weight") to tensors — what a module saves and loads.
#include <string>
#include <utility>
#include <vector>

#include <lamina/core/tensor.h>

namespace lamina::nn {

class StateDict {
 public:
  using Entry = std::pair<std::string, Tensor>;

  // Adds `name`; an existing name is an error (names are unique).
  void insert(const std::string& name, const Tensor& value);
  bool contains(const std::string& name) const { return find(name) != nullptr; }
  // The tensor stored under `name`, or nullptr.
  const Tensor* find(const std::string& name) const;
  // The tensor stored under `name`; throws naming the key when it is missing.
  const Tensor& at(const std::string& name) const;
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::vector<std::string> keys() const;
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }

 private:
  std::vector<Entry> entries_;
};

}  // namespace lamina::nn
