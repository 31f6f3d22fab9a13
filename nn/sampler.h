#pragma once
// Samplers decide which samples an epoch visits and in what order. A sampler's order is a pure function of its
// settings and the epoch number, so every process that builds the same sampler sees the same order, and a run
// resumed from a saved SamplerState continues exactly where it stopped.
#include <cstdint>
#include <vector>

namespace lamina::nn {

struct SamplerState {
  std::int64_t epoch = 0;
  std::int64_t position = 0;  // how many of this epoch's indices have been handed out
  friend bool operator==(const SamplerState&, const SamplerState&) = default;
};

// The interface a DataLoader draws from. A subclass says how many indices an epoch has and what they are; the
// base class keeps the epoch and the position within it, which the DataLoader advances batch by batch.
// A distributed sampler fits the same mould: every rank computes the same shuffled epoch (shuffled_indices with
// one seed) and keeps its own disjoint, equally long shard of it.
class Sampler {
 public:
  virtual ~Sampler() = default;
  // Indices per epoch.
  virtual std::int64_t size() const = 0;
  // The indices of epoch `epoch`, in order: size() of them.
  virtual std::vector<std::int64_t> indices(std::int64_t epoch) const = 0;

  std::int64_t epoch() const { return state_.epoch; }
  std::int64_t position() const { return state_.position; }
  // Moves to the start of epoch `epoch` — unless that is already the current epoch, so that the usual
  // `sampler.set_epoch(epoch)` at the top of a training loop keeps a position restored mid-epoch.
  void set_epoch(std::int64_t epoch);
  SamplerState state() const { return state_; }
  // Restores a saved state; an error when the position is outside [0, size()] or the epoch is negative.
  void load_state(const SamplerState& state);

 private:
  SamplerState state_;
};

// 0, 1, ..., n-1 in every epoch.
class SequentialSampler : public Sampler {
 public:
  explicit SequentialSampler(std::int64_t n);
  std::int64_t size() const override { return n_; }
  std::vector<std::int64_t> indices(std::int64_t epoch) const override;

 private:
  std::int64_t n_;
};

// A new permutation of 0..n-1 every epoch; the same seed and epoch always give the same permutation.
class RandomSampler : public Sampler {
 public:
  RandomSampler(std::int64_t n, std::uint64_t seed);
  std::int64_t size() const override { return n_; }
  std::vector<std::int64_t> indices(std::int64_t epoch) const override;
  std::uint64_t seed() const { return seed_; }

 private:
  std::int64_t n_;
  std::uint64_t seed_;
};

// The permutation of 0..n-1 for (seed, epoch), drawn with randperm from a Generator of that seed whose counter
// starts at epoch * n: each epoch uses its own counters of one Philox stream, so epochs differ and no two
// (seed, epoch) pairs share a stream the way seed + epoch would.
std::vector<std::int64_t> shuffled_indices(std::int64_t n, std::uint64_t seed, std::int64_t epoch);

}  // namespace lamina::nn
