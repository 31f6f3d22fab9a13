#pragma once
// DistributedSampler: each rank's disjoint, equally long shard of an epoch. Every rank shuffles the whole data set
// with the same seed and epoch (so all agree on the order), pads the order by wrapping around until it divides
// evenly (or drops the tail with drop_last), and takes every world-th index starting at its rank. Equal shard
// lengths mean every rank runs the same number of steps, so no rank waits in a collective for one that finished.
#include <cstdint>

#include <lamina/nn/sampler.h>

namespace lamina::distributed {

struct DistributedSamplerOptions {
  bool shuffle = true;
  std::uint64_t seed = 0;
  bool drop_last = false;
};

class DistributedSampler : public nn::Sampler {
 public:
  DistributedSampler(std::int64_t dataset_size, int rank, int world_size, DistributedSamplerOptions options = {});
  std::int64_t size() const override;
  std::vector<std::int64_t> indices(std::int64_t epoch) const override;

 private:
  std::int64_t dataset_size_;
  int rank_, world_size_;
  DistributedSamplerOptions options_;
};

}  // namespace lamina::distributed
