#pragma once
// Stochastic gradient descent with momentum, Nesterov momentum and weight decay (PyTorch's semantics).
#include <lamina/nn/optimizer.h>

namespace lamina::nn {

struct SgdOptions {
  double lr = 0.1;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(NamedParameters parameters, SgdOptions options);
  void step() override;

 protected:
  std::vector<std::pair<std::string, double*>> hyperparameters() override;

 private:
  SgdOptions options_;
};

}  // namespace lamina::nn
