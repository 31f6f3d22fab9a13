#include <lamina/nn/dropout.h>

#include <stdexcept>

#include <lamina/core/dropout.h>

namespace lamina::nn {

Dropout::Dropout(double p) : p_(p) {
  if (!(p >= 0 && p <= 1)) throw std::invalid_argument("Dropout: p must be in [0, 1], got " + std::to_string(p));
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p_, is_training()); }

}  // namespace lamina::nn
