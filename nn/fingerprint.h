#pragma once
// A 64-bit hash (XXH3) of tensors' shapes, dtypes and bytes: equal fingerprints mean bitwise-equal tensors (up to
// hash collisions). Used to prove replicas identical across ranks and runs resumed exactly.
#include <cstdint>
#include <vector>

#include <lamina/core/tensor.h>

namespace lamina::nn {

std::uint64_t fingerprint(const std::vector<Tensor>& tensors);

}  // namespace lamina::nn
