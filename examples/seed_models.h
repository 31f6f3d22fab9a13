#pragma once
// The modules of the seed text ("Layers and Modules", d2l.ai), rebuilt in lamina. Used by examples/seed.cpp and
// tests/nn/seed_test.cpp.
#include <lamina/lamina.h>

namespace seed {

using lamina::Tensor;
namespace nn = lamina::nn;

// Sequential is good when the topology is a chain; for anything else, define your own module. The pattern: name
// the sub-modules as members, write forward to use them. The two Child members are not ordinary fields: each
// registers its module as a child, so parameters(), to(device) and state_dict() see both layers.
struct MLP : nn::Module {
  nn::Child<nn::Linear> hidden{this, "hidden", 256, nn::Activation::ReLU};
  nn::Child<nn::Linear> out{this, "out", 10};

  Tensor forward(const Tensor& x) override { return out(hidden(x)); }
};

// What does nn::Sequential actually do? Almost nothing: register each block as a child (so the tree walks find
// its parameters), then run the children in order.
struct MySequential : nn::Module {
  template <typename M>
  MySequential& add(M block) {
    register_module(std::to_string(children().size()), std::make_shared<M>(std::move(block)));
    return *this;
  }

  Tensor forward(const Tensor& x) override {
    Tensor y = x;
    for (const auto& block : children()) y = (*block)(y);
    return y;
  }
};

// forward is plain C++: a constant weight that is never trained, one layer used twice (its parameters shared,
// their gradients the sum of both uses), and a loop whose condition reads tensor values.
struct FixedHiddenMLP : nn::Module {
  // A constant: registered as a buffer, so it is saved and moved with the module but never gets a gradient.
  Tensor rand_weight = register_buffer("rand_weight", lamina::rand({20, 20}));
  nn::Child<nn::Linear> linear{this, "linear", 20, nn::Activation::ReLU};

  Tensor forward(const Tensor& input) override {
    Tensor x = linear(input);
    x = lamina::relu(lamina::matmul(x, rand_weight) + 1.0);
    x = linear(x);  // the same layer again: parameter sharing
    while (x.abs().sum().item() > 1) x = x / 2;
    return x.sum();
  }
};

// Modules nest to any depth: NestMLP holds a Sequential.
struct NestMLP : nn::Module {
  nn::Child<nn::Sequential> net{this, "net", nn::Linear(64, nn::Activation::ReLU), nn::Linear(32, nn::Activation::ReLU)};
  nn::Child<nn::Linear> linear{this, "linear", 16, nn::Activation::ReLU};

  Tensor forward(const Tensor& x) override { return linear(net(x)); }
};

// A Sequential holding a NestMLP, a Linear and a FixedHiddenMLP: the recursive walk finds every parameter.
inline nn::Sequential make_chimera() { return nn::Sequential(NestMLP(), nn::Linear(20), FixedHiddenMLP()); }

}  // namespace seed
