#pragma once
// ModuleList: registered children kept in a list, for forwards that are not a plain chain (a loop over blocks
// with something between them). It has no forward of its own.
#include <memory>
#include <utility>

#include <lamina/nn/module.h>

namespace lamina::nn {

class ModuleList : public Module {
 public:
  template <typename M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    register_module(std::to_string(modules_.size()), module);
    modules_.push_back(module);
    return module;
  }
  template <typename M>
    requires(!std::is_convertible_v<M, std::shared_ptr<Module>>)
  std::shared_ptr<M> push_back(M&& module) {
    return push_back(std::make_shared<std::remove_cvref_t<M>>(std::forward<M>(module)));
  }
  std::size_t size() const { return modules_.size(); }
  Module& operator[](std::size_t i) const { return *modules_.at(i); }
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }
  std::string type_name() const override { return "ModuleList"; }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

}  // namespace lamina::nn
