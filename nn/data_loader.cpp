#include <lamina/nn/data_loader.h>

#include <algorithm>
#include <span>
#include <stdexcept>
#include <string>

namespace lamina::nn {

DataLoader::DataLoader(const Dataset& dataset, std::int64_t batch_size, Sampler& sampler, bool drop_last)
    : dataset_(dataset), sampler_(sampler), batch_size_(batch_size), drop_last_(drop_last) {
  if (batch_size <= 0) throw std::invalid_argument("DataLoader: batch_size must be positive, got " + std::to_string(batch_size));
}

std::int64_t DataLoader::size() const {
  const std::int64_t n = sampler_.size();
  return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

DataLoader::Iterator DataLoader::begin() {
  order_ = sampler_.indices(sampler_.epoch());
  if (static_cast<std::int64_t>(order_.size()) != sampler_.size())
    throw std::logic_error("DataLoader: the sampler gave " + std::to_string(order_.size()) + " indices for an epoch of " +
                           std::to_string(sampler_.size()));
  const std::int64_t from = sampler_.position();
  const std::int64_t left = sampler_.size() - from;
  stop_ = from + (drop_last_ ? left / batch_size_ * batch_size_ : left);
  end_ = from;
  done_ = false;
  if (end_ == stop_) {
    // Nothing left of this epoch (a restored state at its end, or only a tail that drop_last drops).
    sampler_.set_epoch(sampler_.epoch() + 1);
    done_ = true;
  } else {
    next();
  }
  return Iterator(this);
}

void DataLoader::next() {
  // Drop our handle on the previous batch first: when the caller holds none either, its memory returns to the
  // caching allocator and the next batch reuses the same blocks.
  batch_ = Batch{};
  if (end_ == stop_) {
    done_ = true;
    return;
  }
  const std::int64_t start = end_;
  end_ = std::min(start + batch_size_, stop_);
  batch_ = dataset_.get_batch(std::span<const std::int64_t>(order_.data() + start, static_cast<std::size_t>(end_ - start)));
  if (pin_memory_) batch_ = Batch{batch_.inputs.pin_memory(), batch_.targets.pin_memory()};
  // The sampler's state counts this batch as handed out, so a checkpoint taken while it is in use resumes after it;
  // after an epoch's last batch the state points at the start of the next epoch.
  if (end_ == stop_)
    sampler_.set_epoch(sampler_.epoch() + 1);
  else
    sampler_.load_state({sampler_.epoch(), end_});
}

}  // namespace lamina::nn
