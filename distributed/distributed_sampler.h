#pragma once
// DistributedSampler: each rank's disjoint, equally long shard of an epoch. Every rank shuffles the whole data set
// with the same seed and epoch (so all agree on the order), pads the order by wrapping around until it divides
// evenly (or drops the tail with drop_last), and takes every world-th index starting at its rank. Equal shard
// lengths mean every rank runs the same number of steps, so no rank waits in a collective for one that finished.
//
// Resuming at another world size. Rank r's j-th index is position r + j·world of the epoch's global order, so a
// global batch B (B/world per rank) always takes positions [k·B, (k+1)·B) of that order, whatever the world size.
// A checkpoint therefore records the samples of its epoch consumed over all ranks (samples_seen()), and
// resume_epoch(epoch, seen) continues that epoch at position `seen` of the same global order, split over this
// job's ranks: the job visits exactly the samples the saved job had not, in the same global batches. At the saving
// world size the shards are the very ones an uninterrupted run would have had; at another world size each global
// batch is split differently over the ranks (see lamina-train's notes on what that changes). The positions past
// the end of the order that padding adds wrap around to its start, as without a resume.
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

  // Continues epoch `epoch` after the first `seen` positions of its global order (0 <= seen <= dataset size):
  // positions this job's shards of that epoch skip. Later epochs are whole.
  void resume_epoch(std::int64_t epoch, std::int64_t seen);
  // Positions of the current epoch's global order consumed over all ranks: the resumed offset plus
  // position() · world size.
  std::int64_t samples_seen() const;

 private:
  std::int64_t offset(std::int64_t epoch) const { return epoch == resumed_epoch_ ? resumed_seen_ : 0; }
  std::int64_t shard_size(std::int64_t offset) const;

  std::int64_t dataset_size_;
  int rank_, world_size_;
  DistributedSamplerOptions options_;
  std::int64_t resumed_epoch_ = -1;
  std::int64_t resumed_seen_ = 0;
};

}  // namespace lamina::distributed
