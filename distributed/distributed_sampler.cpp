#include <lamina/distributed/distributed_sampler.h>

#include <numeric>
#include <stdexcept>
#include <string>

namespace lamina::distributed {

DistributedSampler::DistributedSampler(std::int64_t dataset_size, int rank, int world_size, DistributedSamplerOptions options)
    : dataset_size_(dataset_size), rank_(rank), world_size_(world_size), options_(options) {
  if (world_size < 1 || rank < 0 || rank >= world_size)
    throw std::invalid_argument("DistributedSampler: rank " + std::to_string(rank) + " is not in a world of " +
                                std::to_string(world_size));
  if (dataset_size < 0) throw std::invalid_argument("DistributedSampler: negative data set size");
  if (options.drop_last && dataset_size < world_size)
    throw std::invalid_argument("DistributedSampler: " + std::to_string(dataset_size) + " samples cannot give each of " +
                                std::to_string(world_size) + " ranks one with drop_last");
}

std::int64_t DistributedSampler::shard_size(std::int64_t offset) const {
  const std::int64_t n = dataset_size_ - offset;
  return options_.drop_last ? n / world_size_ : (n + world_size_ - 1) / world_size_;
}

std::int64_t DistributedSampler::size() const { return shard_size(offset(epoch())); }

void DistributedSampler::resume_epoch(std::int64_t epoch, std::int64_t seen) {
  if (epoch < 0 || seen < 0 || seen > dataset_size_)
    throw std::invalid_argument("DistributedSampler::resume_epoch: epoch " + std::to_string(epoch) + " after " +
                                std::to_string(seen) + " samples does not fit a data set of " +
                                std::to_string(dataset_size_));
  resumed_epoch_ = epoch;
  resumed_seen_ = seen;
  load_state({epoch, 0});
}

std::int64_t DistributedSampler::samples_seen() const { return offset(epoch()) + position() * world_size_; }

std::vector<std::int64_t> DistributedSampler::indices(std::int64_t epoch) const {
  std::vector<std::int64_t> order;
  if (options_.shuffle) {
    order = nn::shuffled_indices(dataset_size_, options_.seed, epoch);
  } else {
    order.resize(static_cast<std::size_t>(dataset_size_));
    std::iota(order.begin(), order.end(), 0);
  }
  const std::int64_t start = offset(epoch);
  const std::int64_t length = shard_size(start);
  std::vector<std::int64_t> shard;
  shard.reserve(static_cast<std::size_t>(length));
  for (std::int64_t i = start + rank_; i < start + length * world_size_; i += world_size_)
    shard.push_back(order[static_cast<std::size_t>(i % dataset_size_)]);
  return shard;
}

}  // namespace lamina::distributed
