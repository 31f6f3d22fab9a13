#include <lamina/nn/lr_scheduler.h>

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace lamina::nn {

void LRScheduler::step() {
  ++count_;
  optimizer_.set_lr(lr_at(count_));
}

void LRScheduler::set_count(std::int64_t count) {
  if (count < 0) throw std::invalid_argument("LRScheduler: negative count " + std::to_string(count));
  count_ = count;
  optimizer_.set_lr(lr_at(count_));
}

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler(optimizer, optimizer.lr()), step_size_(step_size), gamma_(gamma) {
  if (step_size <= 0) throw std::invalid_argument("StepLR: step_size must be positive, got " + std::to_string(step_size));
}

double StepLR::lr_at(std::int64_t t) const { return base_lr() * std::pow(gamma_, static_cast<double>(t / step_size_)); }

CosineLR::CosineLR(Optimizer& optimizer, std::int64_t total, double min_lr)
    : LRScheduler(optimizer, optimizer.lr()), total_(total), min_lr_(min_lr) {
  if (total <= 0) throw std::invalid_argument("CosineLR: total must be positive, got " + std::to_string(total));
}

double CosineLR::lr_at(std::int64_t t) const {
  if (t >= total_) return min_lr_;
  const double progress = static_cast<double>(t) / static_cast<double>(total_);
  return min_lr_ + 0.5 * (base_lr() - min_lr_) * (1 + std::cos(std::numbers::pi * progress));
}

LinearWarmup::LinearWarmup(Optimizer& optimizer, std::int64_t warmup, std::unique_ptr<LRScheduler> after)
    : LRScheduler(optimizer, optimizer.lr()), warmup_(warmup), after_(std::move(after)) {
  if (warmup <= 0) throw std::invalid_argument("LinearWarmup: warmup must be positive, got " + std::to_string(warmup));
  optimizer.set_lr(lr_at(0));
}

double LinearWarmup::lr_at(std::int64_t t) const {
  if (t < warmup_) return base_lr() * static_cast<double>(t + 1) / static_cast<double>(warmup_);
  return after_ ? after_->lr_at(t - warmup_) : base_lr();
}

}  // namespace lamina::nn
