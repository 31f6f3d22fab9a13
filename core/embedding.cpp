#include <lamina/core/embedding.h>

#include <stdexcept>

#include <lamina/core/autograd.h>
#include <lamina/core/checks.h>
#include <lamina/core/cuda_kernels.h>
#include <lamina/core/shape_ops.h>

namespace lamina {

Tensor embedding(const Tensor& indices, const Tensor& weight) {
  check_defined(indices, "embedding", "indices");
  check_defined(weight, "embedding", "weight");
  check_same_device(indices, weight, "embedding");
  check_floating(weight, "embedding");
  if (indices.dtype() != DType::Int64)
    throw std::invalid_argument("embedding: indices must be int64, got " + describe(indices));
  if (weight.dim() != 2)
    throw std::invalid_argument("embedding: expected a weight of shape [V, D], got " + describe(weight));
  const std::int64_t vocab = weight.shape()[0], width = weight.shape()[1];
  const Tensor idx = indices.detach().contiguous();
  const Tensor idx_host = idx.to(Device::cpu());  // for the range check
  const std::int64_t* pi = idx_host.data<std::int64_t>();
  const std::int64_t n = idx.numel();
  for (std::int64_t i = 0; i < n; ++i)
    if (pi[i] < 0 || pi[i] >= vocab)
      throw std::out_of_range("embedding: index " + std::to_string(pi[i]) + " is out of range for V = " +
                              std::to_string(vocab) + " embeddings (weight " + describe(weight) + ", indices " +
                              describe(indices) + ")");

  const Tensor wc = weight.detach().contiguous();
  Shape out_shape = indices.shape();
  out_shape.push_back(width);
  Tensor out = Tensor::empty(out_shape, {.dtype = weight.dtype(), .device = weight.device()});
  // Embedding is index_select of weight's rows, on either device.
  if (weight.device().is_cuda()) cuda_kernel(&CudaKernels::index_select, weight, "embedding")(wc, idx, out, vocab, width);
  else cpu::index_select(wc, idx, out, vocab, width);
  if (autograd::needs_grad({&weight})) {
    autograd::record("embedding", out, {weight}, [idx, vocab, width](const Tensor& g) -> std::vector<Tensor> {
      const Tensor gc = g.contiguous();
      Tensor gw = zeros({vocab, width}, {.dtype = g.dtype(), .device = g.device()});
      if (g.device().is_cuda()) cuda_kernel(&CudaKernels::index_select_backward, g, "embedding backward")(gc, idx, gw, vocab, width);
      else cpu::index_select_backward(gc, idx, gw, vocab, width);
      return {gw};
    });
  }
  return out;
}

}  // namespace lamina
