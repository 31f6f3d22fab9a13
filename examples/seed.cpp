// The seed text's examples ("Layers and Modules", shared/SEED.md), run one after another: each prints what the
// Python original prints (an output shape or value) and the module tree.
#include <iostream>

#include "seed_models.h"

using namespace lamina;

int main() {
  manual_seed(0);
  const Tensor X = rand({2, 20});

  nn::Sequential net;
  net.add(nn::Linear(256, nn::Activation::ReLU));
  net.add(nn::Linear(10));
  std::cout << "Sequential: net(X).shape() = " << shape_str(net(X).shape()) << "\n" << net.summary(X) << "\n";

  seed::MLP mlp;
  std::cout << "MLP: " << shape_str(mlp(X).shape()) << "\n" << mlp.summary(X) << "\n";

  seed::MySequential mine;
  mine.add(nn::Linear(256, nn::Activation::ReLU)).add(nn::Linear(10));
  std::cout << "MySequential: " << shape_str(mine(X).shape()) << "\n\n";

  seed::FixedHiddenMLP fixed;
  std::cout << "FixedHiddenMLP: net(X) = " << fixed(X) << "\n\n";

  nn::Sequential chimera = seed::make_chimera();
  std::cout << "chimera: net(X) = " << chimera(X) << "\n" << chimera.summary(X);
  for (const auto& [name, p] : chimera.named_parameters()) std::cout << "  " << name << " " << shape_str(p.shape()) << "\n";
}
