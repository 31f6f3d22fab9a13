#pragma once
// The configuration of a lamina-train run: the command line, with defaults filled in from the chosen recipe.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <lamina/nn/lr_scheduler.h>
#include <lamina/nn/module.h>
#include <lamina/nn/optimizer.h>

namespace lamina::launch {

struct TrainConfig {
  std::string model = "mlp";     // mlp | lenet | lenet-sigmoid | resnet18
  std::string recipe = "default"; // default | d2l
  int epochs = 10;
  std::int64_t batch_size = 256;  // global: split evenly over the ranks
  double lr = -1;                 // -1: the recipe's
  std::string optimizer;          // sgd | adam | adamw; empty: the recipe's
  double momentum = -1;
  double weight_decay = -1;
  std::string schedule;           // none | cosine | step; empty: the recipe's
  int warmup_steps = -1;
  int threads = 1;                // per rank; default: OMP_NUM_THREADS, else 1
  std::string device = "cpu";     // cpu | cuda (each rank takes the GPU of its local rank)
  bool allow_tf32 = false;        // float32 GEMMs on TF32 tensor cores (--device cuda)
  std::uint64_t seed = 0;
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  std::int64_t train_samples = 0; // 0: all
  std::int64_t test_samples = 0;
  std::string metrics_path;       // JSON lines; empty: none
  double bucket_cap_mb = 25;       // DistributedDataParallel's bucket size (the first bucket: at most 1 MiB)
  std::string trace_path;         // Chrome-trace JSON of DDP's bucket all-reduces, every step of every rank; empty: none
  double target_accuracy = 0;     // > 0: stop after the first epoch whose test accuracy reaches it
  std::int64_t resnet_width = 64;
  bool standardize = true;
  bool drop_last = true;          // training drops each epoch's partial last batch (the global batch never shrinks)
  double collective_timeout = 300;  // seconds a rank waits in a collective for its peers before the job ends
  // For the failure and resume tests only (hidden flags): after global step fail_at_step (from 1; after that step's
  // checkpoint when one is due), rank fail_rank fails as fail_mode says: throw | exit | kill | segv | hang (stops,
  // like a suspended process).
  std::int64_t fail_at_step = 0;
  int fail_rank = 0;
  std::string fail_mode = "throw";

  // Checkpoints (when they are written: see train_main.cpp).
  std::string checkpoint_dir;
  std::int64_t checkpoint_every_steps = 0;  // --checkpoint-every N
  int checkpoint_every_epochs = 0;          // --checkpoint-every Nepoch(s)
  int keep = 3;                             // checkpoints kept in checkpoint_dir; 0: all
  std::string resume;                       // "latest" (in checkpoint_dir) or a checkpoint file; empty: start afresh
  std::string init_from;                    // an .npz of model weights to start from
  std::string save_npz;                     // write the final model weights to this .npz (rank 0)
};

// Parses argv into a config; on --help or a bad flag it prints (on rank 0) and returns the exit code to use.
// Returns -1 when the run should go ahead.
int parse_train_args(int argc, char** argv, bool print, TrainConfig& config);

// Fills the flags left at "recipe default" (-1 or empty) from the recipe:
//   d2l:     plain SGD, no normalization, no schedule; lr 0.1 (MLP) or 0.9 (sigmoid LeNet) — d2l.ai's chapter setup.
//   default: SGD with Nesterov momentum 0.9, weight decay 5e-4, linear warm-up then cosine decay, standardized input,
//            each epoch's partial last batch dropped.
void apply_recipe(TrainConfig& config);

std::shared_ptr<nn::Module> make_model(const TrainConfig& config);
std::unique_ptr<nn::Optimizer> make_optimizer(const TrainConfig& config, const nn::NamedParameters& parameters);
// The per-step schedule (or null), over `total_steps`.
std::unique_ptr<nn::LRScheduler> make_schedule(const TrainConfig& config, nn::Optimizer& optimizer, std::int64_t total_steps);

// What makes two runs the same trajectory (model, data, batch, optimizer, schedule, seed, ...), as strings: stored
// in a checkpoint and compared on resume. `train_samples` is the size of the training set actually used. The world
// size is not part of it: a run may resume at another one.
std::map<std::string, std::string> run_identity(const TrainConfig& config, std::int64_t train_samples);

// One line describing the run, for the log.
std::string describe(const TrainConfig& config);

}  // namespace lamina::launch
