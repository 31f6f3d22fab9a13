#pragma once
// Ops that assemble or pick out parts of tensors: concatenation, stacking and integer indexing.
#include <vector>

#include <lamina/core/indexing.h>
#include <lamina/core/tensor.h>

namespace lamina {

// Joins tensors along an existing dimension `dim`; their other dimensions must match.
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim);
// Joins tensors of one shape along a new dimension inserted at `dim`.
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim);
// The entries of `x` at positions `index` (1-d int64) along `dim`: out.size(dim) == index.numel().
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);
// out[i][j][k] = x[i][index[i][j][k]][k] for dim == 1 (likewise for other dims); `index` is int64 with the rank
// of `x` and no larger than `x` outside `dim`. The output has the shape of `index`.
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index);
// int64 tensor of shape labels.shape + [num_classes] with a 1 at each label's class (not differentiable).
Tensor one_hot(const Tensor& labels, std::int64_t num_classes);

namespace cpu {
// What the CUDA entries of the same names compute (core/cuda_kernels.h), on host memory, with the index functions of
// core/indexing.h.
void index_select(const Tensor& x, const Tensor& index, const Tensor& out, std::int64_t n, std::int64_t inner);
void index_select_backward(const Tensor& g, const Tensor& index, const Tensor& grad, std::int64_t n, std::int64_t inner);
void gather(const Tensor& x, const Tensor& index, const Tensor& out, const kernels::GatherGeometry& geometry);
void gather_backward(const Tensor& g, const Tensor& index, const Tensor& grad, const kernels::GatherGeometry& geometry);
}  // namespace cpu

}  // namespace lamina
