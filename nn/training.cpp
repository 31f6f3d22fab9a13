#include <lamina/nn/training.h>

#include <chrono>

#include <lamina/core/autograd.h>
#include <lamina/core/loss.h>
#include <lamina/core/reduction.h>

namespace lamina::nn {
namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Where the model's parameters live (the loader's batches are on the host and are copied there).
Device device_of(const Module& model) {
  for (const Tensor& p : model.parameters())
    if (p.defined() && !p.is_deferred()) return p.device();
  return Device::cpu();
}
}  // namespace

Tensor default_loss(const Tensor& output, const Tensor& targets) { return cross_entropy(output, targets); }

std::int64_t count_correct(const Tensor& output, const Tensor& labels) {
  if (output.dim() != 2 || labels.dtype() != DType::Int64) return 0;
  const Tensor predicted = argmax(output.detach(), 1).to(Device::cpu());
  const std::int64_t* p = predicted.data<std::int64_t>();
  const Tensor l = labels.to(Device::cpu()).contiguous();
  const std::int64_t* y = l.data<std::int64_t>();
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < predicted.numel(); ++i) correct += p[i] == y[i];
  return correct;
}

EpochStats train_epoch(Module& model, Optimizer& optimizer, DataLoader& loader, const TrainOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  model.train();
  EpochStats stats;
  const std::int64_t steps = loader.size();
  const Device device = device_of(model);
  for (Batch& batch : loader) {
    optimizer.zero_grad();
    const Tensor targets = batch.targets.to(device);
    const Tensor output = model(batch.inputs.to(device));
    const Tensor loss = options.loss(output, targets);
    loss.backward();
    optimizer.step();
    if (options.scheduler) options.scheduler->step();
    const double value = loss.item();
    const std::int64_t n = batch.inputs.size(0);
    stats.loss_sum += value * static_cast<double>(n);
    stats.correct += count_correct(output, targets);
    stats.samples += n;
    if (options.on_step) options.on_step(stats.steps, steps, value);
    ++stats.steps;
  }
  stats.seconds = seconds_since(start);
  return stats;
}

EpochStats evaluate(Module& model, DataLoader& loader, const LossFunction& loss) {
  const auto start = std::chrono::steady_clock::now();
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  EpochStats stats;
  const Device device = device_of(model);
  for (Batch& batch : loader) {
    const Tensor targets = batch.targets.to(device);
    const Tensor output = model(batch.inputs.to(device));
    const std::int64_t n = batch.inputs.size(0);
    stats.loss_sum += loss(output, targets).item() * static_cast<double>(n);
    stats.correct += count_correct(output, targets);
    stats.samples += n;
    ++stats.steps;
  }
  model.train(was_training);
  stats.seconds = seconds_since(start);
  return stats;
}

}  // namespace lamina::nn
