#pragma once
// The sliding windows of an NCHW tensor as the columns of a matrix (im2col), differentiable (its backward is
// col2im). Convolution and pooling on a GPU are built on it: a GEMM with the weights, or a max or mean over the
// rows. Both devices run the one-element index functions of im2col.h: the CUDA kernels per thread, the CPU in a
// loop (so the CPU tests check the GPU's index arithmetic through this op).
#include <lamina/core/im2col.h>
#include <lamina/core/tensor.h>

namespace lamina {

// x [N, C, H, W] -> [C*kh*kw, OH*OW*N]: row (c, i, j), column (oh, ow, n) holds the input value under kernel
// position (i, j) of output (oh, ow), or `pad` where that position lies in the padding. `g` describes one sample
// (g.channels == C; out_h and out_w filled in).
Tensor unfold(const Tensor& x, const kernels::ConvGeometry& g, double pad = 0.0);

namespace cpu {
// What the CUDA entries im2col and col2im compute (core/cuda_kernels.h), on host memory: xt [C, H, W, batch].
void im2col(const Tensor& xt, const Tensor& col, const kernels::ConvGeometry& g, std::int64_t batch, double pad);
void col2im(const Tensor& col, const Tensor& xt, const kernels::ConvGeometry& g, std::int64_t batch);
}  // namespace cpu

}  // namespace lamina
