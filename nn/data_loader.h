#pragma once
// DataLoader: cuts the sampler's epoch into batches and gathers each from the data set.
//
//   auto train = nn::load_fashion_mnist(nn::kFashionMnistDir, nn::Split::Train);
//   nn::RandomSampler sampler(train.size(), /*seed=*/0);
//   nn::DataLoader loader(train, 256, sampler);
//   for (int epoch = 0; epoch < 10; ++epoch)
//     for (auto& [x, y] : loader) { ... }
//
// One pass of the range-for is one epoch. The loader advances the sampler's state as it hands out batches (with an
// epoch's last batch, to the start of the next epoch), so a run that saves sampler.state() with its
// checkpoint and restores it with sampler.load_state() continues mid-epoch with exactly the batches it had left.
#include <cstdint>
#include <iterator>
#include <vector>

#include <lamina/nn/dataset.h>
#include <lamina/nn/sampler.h>

namespace lamina::nn {

class DataLoader {
 public:
  // `dataset` and `sampler` are used by reference and must outlive the loader.
  DataLoader(const Dataset& dataset, std::int64_t batch_size, Sampler& sampler, bool drop_last = false);
  // Temporaries would dangle.
  DataLoader(const Dataset&& dataset, std::int64_t batch_size, Sampler& sampler, bool drop_last = false) = delete;
  DataLoader(const Dataset& dataset, std::int64_t batch_size, Sampler&& sampler, bool drop_last = false) = delete;

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;

    explicit Iterator(DataLoader* loader) : loader_(loader) {}
    Batch& operator*() const { return loader_->batch_; }
    Batch* operator->() const { return &loader_->batch_; }
    Iterator& operator++() {
      loader_->next();
      return *this;
    }
    void operator++(int) { loader_->next(); }
    bool operator==(std::default_sentinel_t) const { return loader_->done_; }

   private:
    DataLoader* loader_;
  };

  // Starts a pass over the rest of the sampler's current epoch (all of it unless a state was restored or a
  // previous pass stopped early). One pass at a time: a new begin() abandons the previous pass.
  Iterator begin();
  std::default_sentinel_t end() const { return {}; }

  // Batches in a full epoch.
  std::int64_t size() const;
  std::int64_t batch_size() const { return batch_size_; }
  // Hand out batches in page-locked host memory (needs lamina::cuda), for fast copies to a GPU.
  void set_pin_memory(bool on) { pin_memory_ = on; }

 private:
  void next();

  const Dataset& dataset_;
  Sampler& sampler_;
  std::int64_t batch_size_;
  bool drop_last_;

  // The pass in progress: the epoch's order, where the current batch ends, and where the pass stops.
  std::vector<std::int64_t> order_;
  std::int64_t end_ = 0;
  std::int64_t stop_ = 0;
  bool done_ = true;
  bool pin_memory_ = false;
  Batch batch_;
};

}  // namespace lamina::nn
