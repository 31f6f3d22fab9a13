#include <lamina/nn/sampler.h>

#include <numeric>
#include <stdexcept>
#include <string>

#include <lamina/core/random.h>

namespace lamina::nn {
namespace {
void check_count(std::int64_t n, const char* who) {
  if (n < 0) throw std::invalid_argument(std::string(who) + ": the number of samples must be non-negative, got " + std::to_string(n));
}
}  // namespace

void Sampler::set_epoch(std::int64_t epoch) {
  if (epoch < 0) throw std::invalid_argument("Sampler::set_epoch: epoch must be non-negative, got " + std::to_string(epoch));
  if (epoch != state_.epoch) state_ = {epoch, 0};
}

void Sampler::load_state(const SamplerState& state) {
  if (state.epoch < 0 || state.position < 0 || state.position > size())
    throw std::invalid_argument("Sampler::load_state: epoch " + std::to_string(state.epoch) + ", position " +
                                std::to_string(state.position) + " does not fit a sampler of " +
                                std::to_string(size()) + " indices per epoch");
  state_ = state;
}

SequentialSampler::SequentialSampler(std::int64_t n) : n_(n) { check_count(n, "SequentialSampler"); }

std::vector<std::int64_t> SequentialSampler::indices(std::int64_t) const {
  std::vector<std::int64_t> out(static_cast<std::size_t>(n_));
  std::iota(out.begin(), out.end(), 0);
  return out;
}

RandomSampler::RandomSampler(std::int64_t n, std::uint64_t seed) : n_(n), seed_(seed) { check_count(n, "RandomSampler"); }

std::vector<std::int64_t> RandomSampler::indices(std::int64_t epoch) const { return shuffled_indices(n_, seed_, epoch); }

std::vector<std::int64_t> shuffled_indices(std::int64_t n, std::uint64_t seed, std::int64_t epoch) {
  Generator gen(seed);
  gen.set_state({seed, static_cast<std::uint64_t>(epoch) * static_cast<std::uint64_t>(n)});
  const Tensor perm = randperm(n, &gen);
  const std::int64_t* p = perm.data<std::int64_t>();
  return std::vector<std::int64_t>(p, p + n);
}

}  // namespace lamina::nn
