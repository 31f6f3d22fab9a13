#pragma once
// Inverted dropout: in training, zeroes each element with probability p and scales the survivors by 1 / (1 - p),
// so that evaluation needs no rescaling.
#include <lamina/core/random.h>
#include <lamina/core/tensor.h>

namespace lamina {

// Identity (the same tensor) when !training or p == 0; zeros when p == 1; p outside [0, 1] is an error.
// The mask comes from `gen` (the default generator when null): the same seed and state give the same mask on
// any number of threads.
Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);

}  // namespace lamina
