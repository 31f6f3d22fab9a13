#pragma once
// Sequential: children run in order, each one's output the next one's input. It stores its children as the
// module registry does ("0", "1", ...) and its forward is a for loop — that is all.
//
//   nn::Sequential net;
//   net.add(nn::Linear(256, nn::Activation::ReLU));
//   net.add(nn::Linear(10));
//   Tensor y = net(x);
#include <memory>
#include <type_traits>
#include <utility>

#include <lamina/nn/module.h>

namespace lamina::nn {

class Sequential : public Module {
 public:
  Sequential() = default;
  // Sequential(nn::Linear(64), nn::Linear(10)): modules by value or as shared_ptr.
  template <typename... Ms>
    requires(sizeof...(Ms) > 0)
  explicit Sequential(Ms&&... modules) {
    add(std::forward<Ms>(modules)...);
  }

  // Appends one or several modules; each is registered under its position.
  template <typename M, typename... Rest>
  Sequential& add(M&& module, Rest&&... rest) {
    append(to_shared(std::forward<M>(module)));
    if constexpr (sizeof...(Rest) > 0) add(std::forward<Rest>(rest)...);
    return *this;
  }

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sequential"; }
  std::size_t size() const { return layers_.size(); }
  const std::shared_ptr<Module>& operator[](std::size_t i) const { return layers_.at(i); }

 private:
  template <typename M>
  static std::shared_ptr<Module> to_shared(M&& module) {
    using T = std::remove_cvref_t<M>;
    if constexpr (std::is_convertible_v<T, std::shared_ptr<Module>>) return module;
    else return std::make_shared<T>(std::forward<M>(module));
  }
  void append(std::shared_ptr<Module> module);

  std::vector<std::shared_ptr<Module>> layers_;
};

}  // namespace lamina::nn
