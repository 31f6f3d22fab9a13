#pragma once
// NumPy broadcasting: the shape two operands broadcast to, and an indexer that walks an output in row-major
// order while tracking each operand's element offset (stride 0 along broadcast dimensions).
#include <array>
#include <cstdint>

#include <lamina/core/functors.h>
#include <lamina/core/tensor.h>

namespace lamina {

// The broadcast shape of `a` and `b`; throws naming `op` and both shapes when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// Strides with which `t` is read as if it had shape `out` (0 where t is broadcast).
Shape broadcast_strides(const Tensor& t, const Shape& out);

constexpr int kMaxDims = 8;

// Maps a linear index of the output to an element offset of an operand. Plain data, usable in CUDA kernels.
struct OffsetCalculator {
  int ndim = 0;
  std::int64_t sizes[kMaxDims] = {};
  std::int64_t strides[kMaxDims] = {};

  LAMINA_HD std::int64_t operator()(std::int64_t linear) const {
    std::int64_t offset = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const std::int64_t i = linear % sizes[d];
      linear /= sizes[d];
      offset += i * strides[d];
    }
    return offset;
  }
};
OffsetCalculator make_offset_calculator(const Shape& shape, const Shape& strides);

}  // namespace lamina
