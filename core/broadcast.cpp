#include <lamina/core/broadcast.h>

#include <algorithm>
#include <stdexcept>

namespace lamina {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw std::invalid_argument(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                                  " cannot be broadcast together (dimension " + std::to_string(i) + ": " +
                                  std::to_string(da) + " vs " + std::to_string(db) + ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Shape broadcast_strides(const Tensor& t, const Shape& out) {
  Shape strides(out.size(), 0);
  const std::size_t lead = out.size() - t.shape().size();
  for (std::size_t i = 0; i < t.shape().size(); ++i)
    strides[lead + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return strides;
}

OffsetCalculator make_offset_calculator(const Shape& shape, const Shape& strides) {
  if (shape.size() > kMaxDims)
    throw std::invalid_argument("tensors of more than " + std::to_string(kMaxDims) + " dimensions are not supported, got " +
                                shape_str(shape));
  OffsetCalculator c;
  c.ndim = static_cast<int>(shape.size());
  for (int d = 0; d < c.ndim; ++d) {
    c.sizes[d] = shape[d];
    c.strides[d] = strides[d];
  }
  return c;
}

}  // namespace lamina
