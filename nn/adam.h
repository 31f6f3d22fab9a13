#pragma once
// Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight decay), PyTorch's semantics.
#include <lamina/nn/optimizer.h>

namespace lamina::nn {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

class Adam : public Optimizer {
 public:
  Adam(NamedParameters parameters, AdamOptions options);
  void step() override;

 protected:
  Adam(NamedParameters parameters, AdamOptions options, bool decoupled);
  std::vector<std::pair<std::string, double*>> hyperparameters() override;

 private:
  AdamOptions options_;
  bool decoupled_;
};

// AdamW: as Adam, but weight decay shrinks the parameter directly (p -= lr * wd * p) instead of entering the moments.
class AdamW : public Adam {
 public:
  AdamW(NamedParameters parameters, AdamOptions options) : Adam(std::move(parameters), options, /*decoupled=*/true) {}
};

}  // namespace lamina::nn
