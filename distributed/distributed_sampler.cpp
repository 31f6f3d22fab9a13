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

std::int64_t DistributedSampler::size() const {
  return options_.drop_last ? dataset_size_ / world_size_ : (dataset_size_ + world_size_ - 1) / world_size_;
}

std::vector<std::int64_t> DistributedSampler::indices(std::int64_t epoch) const {
  std::vector<std::int64_t> order;
  if (options_.shuffle) {
    order = nn::shuffled_indices(dataset_size_, options_.seed, epoch);
  } else {
    order.resize(static_cast<std::size_t>(dataset_size_));
    std::iota(order.begin(), order.end(), 0);
  }
  const std::int64_t total = size() * world_size_;
  for (std::int64_t i = dataset_size_; i < total; ++i) order.push_back(order[static_cast<std::size_t>(i % dataset_size_)]);
  std::vector<std::int64_t> shard;
  shard.reserve(static_cast<std::size_t>(size()));
  for (std::int64_t i = rank_; i < total; i += world_size_) shard.push_back(order[static_cast<std::size_t>(i)]);
  return shard;
}

}  // namespace lamina::distributed
