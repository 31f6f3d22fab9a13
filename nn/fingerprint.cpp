#include <lamina/nn/fingerprint.h>

#include <xxhash.h>

#include <memory>

namespace lamina::nn {

std::uint64_t fingerprint(const std::vector<Tensor>& tensors) {
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(), &XXH3_freeState);
  XXH3_64bits_reset(state.get());
  for (const Tensor& t : tensors) {
    const Tensor c = t.to(Device::cpu()).contiguous();
    const auto dtype = static_cast<std::uint8_t>(c.dtype());
    XXH3_64bits_update(state.get(), &dtype, sizeof dtype);
    XXH3_64bits_update(state.get(), c.shape().data(), c.shape().size() * sizeof(std::int64_t));
    XXH3_64bits_update(state.get(), c.raw_data(), static_cast<std::size_t>(c.numel()) * dtype_size(c.dtype()));
  }
  return XXH3_64bits_digest(state.get());
}

}  // namespace lamina::nn
