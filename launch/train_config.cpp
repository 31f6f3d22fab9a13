#include "train_config.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include <lamina/nn/adam.h>
#include <lamina/nn/lenet.h>
#include <lamina/nn/mlp.h>
#include <lamina/nn/resnet.h>
#include <lamina/nn/sgd.h>

namespace lamina::launch {

int parse_train_args(int argc, char** argv, bool print, TrainConfig& c) {
  CLI::App app{"lamina-train: data-parallel training on Fashion-MNIST (run under mpirun)"};
  app.add_option("--model", c.model, "mlp | lenet | lenet-sigmoid | resnet18")
      ->check(CLI::IsMember({"mlp", "lenet", "lenet-sigmoid", "resnet18"}));
  app.add_option("--recipe", c.recipe, "default | d2l (plain SGD as in d2l.ai)")->check(CLI::IsMember({"default", "d2l"}));
  app.add_option("--epochs", c.epochs)->check(CLI::PositiveNumber);
  app.add_option("--batch-size", c.batch_size, "global batch size, split evenly over the ranks")->check(CLI::PositiveNumber);
  app.add_option("--lr", c.lr, "learning rate (default: the recipe's)");
  app.add_option("--optimizer", c.optimizer, "sgd | adam | adamw")->check(CLI::IsMember({"sgd", "adam", "adamw"}));
  app.add_option("--momentum", c.momentum);
  app.add_option("--weight-decay", c.weight_decay);
  app.add_option("--schedule", c.schedule, "none | cosine | step")->check(CLI::IsMember({"none", "cosine", "step"}));
  app.add_option("--warmup-steps", c.warmup_steps);
  app.add_option("--threads", c.threads, "threads per rank (default: OMP_NUM_THREADS, else 1)")->check(CLI::PositiveNumber);
  app.add_option("--device", c.device, "cpu | cuda (each rank uses the GPU numbered by its rank on its host)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_flag("--allow-tf32", c.allow_tf32, "with --device cuda: float32 GEMMs on TF32 tensor cores (faster, 10-bit mantissa products)");
  app.add_option("--seed", c.seed);
  app.add_option("--data-dir", c.data_dir, "folder with the Fashion-MNIST .gz files");
  app.add_option("--train-samples", c.train_samples, "use only the first N training samples (0: all)");
  app.add_option("--test-samples", c.test_samples, "use only the first N test samples (0: all)");
  app.add_option("--metrics", c.metrics_path, "write metrics as JSON lines to this file (rank 0)");
  app.add_option("--bucket-cap-mb", c.bucket_cap_mb, "gradient bucket size in MiB (the first bucket: at most 1 MiB)")
      ->check(CLI::PositiveNumber);
  app.add_option("--trace", c.trace_path,
                 "write a Chrome trace (chrome://tracing, Perfetto) of every step's bucket all-reduces on every rank "
                 "to this file (rank 0), and report the share of all-reduce time hidden behind backward");
  app.add_option("--target-accuracy", c.target_accuracy,
                 "stop after the first epoch whose test accuracy reaches this (time to accuracy; 0: train every epoch)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--resnet-width", c.resnet_width, "channels of ResNet-18's first stage")->check(CLI::PositiveNumber);
  app.add_option("--collective-timeout", c.collective_timeout,
                 "seconds a rank waits in a collective for the others before the job ends with an error naming the "
                 "ranks that did not arrive")
      ->check(CLI::PositiveNumber);
  // Failure injection for the tests: an empty group hides these flags from --help.
  app.add_option("--fail-at-step", c.fail_at_step)->group("");
  app.add_option("--fail-rank", c.fail_rank)->group("");
  app.add_option("--fail-mode", c.fail_mode)->group("")->check(CLI::IsMember({"throw", "exit", "kill", "segv", "hang"}));
  app.add_option("--checkpoint-dir", c.checkpoint_dir,
                 "write checkpoints here (rank 0), at the end of training and as --checkpoint-every says");
  std::string every;
  app.add_option("--checkpoint-every", every, "N (optimizer steps) or Nepoch / Nepochs")
      ->check([](const std::string& s) -> std::string {
        const std::size_t count = std::min(s.find_first_not_of("0123456789"), s.size());
        const std::string unit = s.substr(count);
        if (count == 0 || count > 9 || (unit != "" && unit != "epoch" && unit != "epochs") ||
            std::stoll(s.substr(0, count)) == 0)
          return "expected a positive number of steps (N) or epochs (Nepoch, Nepochs), got '" + s + "'";
        return "";
      })
      ->needs("--checkpoint-dir");
  app.add_option("--keep", c.keep, "checkpoints kept in --checkpoint-dir (0: all)")->check(CLI::NonNegativeNumber);
  app.add_option("--resume", c.resume, "continue from the latest checkpoint in --checkpoint-dir, or from PATH")
      ->expected(0, 1)
      ->default_str("latest");
  app.add_option("--init-from", c.init_from, "start from the model weights in this .npz")->excludes("--resume");
  app.add_option("--save-npz", c.save_npz, "write the final model weights to this .npz (rank 0)");
  try {
    app.parse(argc, argv);
    if (c.resume == "latest" && c.checkpoint_dir.empty())
      throw CLI::ValidationError("--resume", "without a path it needs --checkpoint-dir");
  } catch (const CLI::ParseError& e) {
    if (!print) return e.get_exit_code();
    return app.exit(e);
  }
  if (app.count("--threads") == 0) {
    const char* omp = std::getenv("OMP_NUM_THREADS");
    c.threads = omp && std::atoi(omp) > 0 ? std::atoi(omp) : 1;
  }
  if (!every.empty()) {
    const std::size_t count = std::min(every.find_first_not_of("0123456789"), every.size());
    const std::int64_t n = std::stoll(every.substr(0, count));
    if (count == every.size()) c.checkpoint_every_steps = n;
    else c.checkpoint_every_epochs = static_cast<int>(n);
  }
  return -1;
}

void apply_recipe(TrainConfig& c) {
  if (c.recipe == "d2l") {
    c.standardize = false;
    c.drop_last = false;
    if (c.optimizer.empty()) c.optimizer = "sgd";
    if (c.lr < 0) c.lr = c.model == "lenet-sigmoid" ? 0.9 : 0.1;
    if (c.momentum < 0) c.momentum = 0;
    if (c.weight_decay < 0) c.weight_decay = 0;
    if (c.schedule.empty()) c.schedule = "none";
    if (c.warmup_steps < 0) c.warmup_steps = 0;
    return;
  }
  if (c.optimizer.empty()) c.optimizer = "sgd";
  if (c.lr < 0) c.lr = c.optimizer == "sgd" ? 0.1 : 1e-3;
  if (c.momentum < 0) c.momentum = 0.9;
  if (c.weight_decay < 0) c.weight_decay = 5e-4;
  if (c.schedule.empty()) c.schedule = "cosine";
  if (c.warmup_steps < 0) c.warmup_steps = 100;
}

std::shared_ptr<nn::Module> make_model(const TrainConfig& c) {
  if (c.model == "mlp") return std::make_shared<nn::MLP>();
  if (c.model == "lenet-sigmoid") return std::make_shared<nn::LeNet>();
  if (c.model == "lenet")
    return std::make_shared<nn::LeNet>(
        nn::LeNetOptions{.activation = nn::Activation::ReLU, .pooling = nn::Pooling::Max, .batch_norm = true});
  if (c.model == "resnet18") return std::make_shared<nn::ResNet18>(nn::ResNetOptions{.width = c.resnet_width});
  throw std::invalid_argument("unknown model '" + c.model + "'");
}

std::unique_ptr<nn::Optimizer> make_optimizer(const TrainConfig& c, const nn::NamedParameters& parameters) {
  if (c.optimizer == "sgd")
    return std::make_unique<nn::SGD>(parameters, nn::SgdOptions{.lr = c.lr, .momentum = c.momentum,
                                                                .weight_decay = c.weight_decay, .nesterov = c.momentum > 0});
  const nn::AdamOptions options{.lr = c.lr, .weight_decay = c.weight_decay};
  if (c.optimizer == "adam") return std::make_unique<nn::Adam>(parameters, options);
  return std::make_unique<nn::AdamW>(parameters, options);
}

std::unique_ptr<nn::LRScheduler> make_schedule(const TrainConfig& c, nn::Optimizer& optimizer, std::int64_t total_steps) {
  std::unique_ptr<nn::LRScheduler> main;
  const std::int64_t warmup = std::min<std::int64_t>(c.warmup_steps, total_steps / 2);
  const std::int64_t after_warmup = std::max<std::int64_t>(1, total_steps - warmup);
  if (c.schedule == "cosine") main = std::make_unique<nn::CosineLR>(optimizer, after_warmup);
  if (c.schedule == "step") main = std::make_unique<nn::StepLR>(optimizer, std::max<std::int64_t>(1, after_warmup / 3), 0.1);
  if (warmup > 0) return std::make_unique<nn::LinearWarmup>(optimizer, warmup, std::move(main));
  return main;
}

std::map<std::string, std::string> run_identity(const TrainConfig& c, std::int64_t train_samples) {
  const auto number = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return std::string(buf);
  };
  return {{"model", c.model},
          {"recipe", c.recipe},
          {"epochs", std::to_string(c.epochs)},
          {"global_batch", std::to_string(c.batch_size)},
          {"optimizer", c.optimizer},
          {"lr", number(c.lr)},
          {"momentum", number(c.momentum)},
          {"weight_decay", number(c.weight_decay)},
          {"schedule", c.schedule},
          {"warmup_steps", std::to_string(c.warmup_steps)},
          {"seed", std::to_string(c.seed)},
          {"train_samples", std::to_string(train_samples)},
          {"resnet_width", std::to_string(c.resnet_width)},
          {"standardize", c.standardize ? "true" : "false"},
          {"drop_last", c.drop_last ? "true" : "false"}};
}

std::string describe(const TrainConfig& c) {
  std::ostringstream os;
  os << "model " << c.model << ", recipe " << c.recipe << ", " << c.epochs << " epochs, global batch " << c.batch_size
     << ", " << c.optimizer << " lr " << c.lr;
  if (c.optimizer == "sgd" && c.momentum > 0) os << " momentum " << c.momentum << " (Nesterov)";
  if (c.weight_decay > 0) os << ", weight decay " << c.weight_decay;
  os << ", schedule " << c.schedule;
  if (c.warmup_steps > 0) os << " after " << c.warmup_steps << " warm-up steps";
  os << ", seed " << c.seed << (c.standardize ? ", standardized input" : ", raw [0,1] input");
  if (c.drop_last) os << ", partial last batch dropped";
  return os.str();
}

}  // namespace lamina::launch
