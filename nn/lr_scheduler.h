#pragma once
// Learning-rate schedules. A schedule maps the step (or epoch) count to a learning rate; step() advances it and
// writes the rate into the optimizer. Its whole state is the count, saved with the optimizer's in a checkpoint.
#include <cstdint>
#include <memory>

#include <lamina/nn/optimizer.h>

namespace lamina::nn {

class LRScheduler {
 public:
  LRScheduler(Optimizer& optimizer, double base_lr) : optimizer_(optimizer), base_lr_(base_lr) {}
  virtual ~LRScheduler() = default;
  // The learning rate at count `t` (0 = before the first step()).
  virtual double lr_at(std::int64_t t) const = 0;
  // Advances the count and sets the optimizer's learning rate.
  void step();
  std::int64_t count() const { return count_; }
  // Restores a saved count and sets the optimizer's learning rate to match.
  void set_count(std::int64_t count);
  double base_lr() const { return base_lr_; }

 private:
  Optimizer& optimizer_;
  double base_lr_;
  std::int64_t count_ = 0;
};

// lr = base · gamma^⌊t / step_size⌋
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);
  double lr_at(std::int64_t t) const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

// Cosine annealing from base to min_lr over total counts, then min_lr.
class CosineLR : public LRScheduler {
 public:
  CosineLR(Optimizer& optimizer, std::int64_t total, double min_lr = 0.0);
  double lr_at(std::int64_t t) const override;

 private:
  std::int64_t total_;
  double min_lr_;
};

// A linear ramp from base/warmup to base over the first `warmup` counts, then `after` (counted from the end of
// the warm-up), or the base rate when `after` is null.
class LinearWarmup : public LRScheduler {
 public:
  LinearWarmup(Optimizer& optimizer, std::int64_t warmup, std::unique_ptr<LRScheduler> after = nullptr);
  double lr_at(std::int64_t t) const override;

 private:
  std::int64_t warmup_;
  std::unique_ptr<LRScheduler> after_;
};

}  // namespace lamina::nn
