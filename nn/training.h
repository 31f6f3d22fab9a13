#pragma once
// The training loop, as two functions: one epoch of training and one evaluation pass. They return sums (not
// means) so that a distributed caller can add them up across ranks before dividing.
//
//   for (int epoch = 0; epoch < epochs; ++epoch) {
//     sampler.set_epoch(epoch);
//     nn::EpochStats train = nn::train_epoch(model, optimizer, train_loader);
//     nn::EpochStats test = nn::evaluate(model, test_loader);
//     std::cout << test.accuracy() << "\n";
//   }
#include <cstdint>
#include <functional>

#include <lamina/nn/data_loader.h>
#include <lamina/nn/lr_scheduler.h>
#include <lamina/nn/module.h>
#include <lamina/nn/optimizer.h>

namespace lamina::nn {

struct EpochStats {
  double loss_sum = 0;        // sum over samples of the per-sample loss
  std::int64_t correct = 0;   // samples whose arg-max output equals the label
  std::int64_t samples = 0;
  std::int64_t steps = 0;
  double seconds = 0;

  double mean_loss() const { return samples ? loss_sum / static_cast<double>(samples) : 0.0; }
  double accuracy() const { return samples ? static_cast<double>(correct) / static_cast<double>(samples) : 0.0; }
};

// Loss of a batch: model output and targets -> scalar mean loss. Default: cross-entropy with integer labels.
using LossFunction = std::function<Tensor(const Tensor& output, const Tensor& targets)>;
Tensor default_loss(const Tensor& output, const Tensor& targets);

struct TrainOptions {
  LossFunction loss = default_loss;
  LRScheduler* scheduler = nullptr;  // stepped after every optimizer step (per-step schedules)
  // Called after every step with the step's index in this pass, the pass's step count and the batch's mean loss.
  std::function<void(std::int64_t step, std::int64_t steps, double loss)> on_step;
};

// One pass over the loader in training mode: forward, loss, backward, optimizer step for every batch.
EpochStats train_epoch(Module& model, Optimizer& optimizer, DataLoader& loader, const TrainOptions& options = {});

// One pass over the loader in eval mode without recording a graph (the model's mode is restored afterwards).
EpochStats evaluate(Module& model, DataLoader& loader, const LossFunction& loss = default_loss);

// How many rows of `output` ([N, C]) have their arg-max equal to `labels` ([N], int64).
std::int64_t count_correct(const Tensor& output, const Tensor& labels);

}  // namespace lamina::nn
