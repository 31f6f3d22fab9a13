// lamina-train: data-parallel training on Fashion-MNIST.
//
//   mpirun -np 2 lamina-train --model mlp --epochs 10
//
// Every rank holds a replica of the model; each step, each rank trains on its shard of the global batch and
// DistributedDataParallel averages the gradients. Rank 0 prints progress and per-epoch test accuracy (evaluated
// over all ranks' shards of the test set), and every rank ends with the fingerprint of its parameters: they are
// equal when the replicas are.
#include <cstdio>
#include <iostream>

#include <lamina/distributed/distributed_data_parallel.h>
#include <lamina/distributed/distributed_sampler.h>
#include <lamina/distributed/environment.h>
#include <lamina/distributed/mpi_process_group.h>
#include <lamina/lamina.h>
#include <lamina/nn/data_loader.h>
#include <lamina/nn/dataset.h>
#include <lamina/nn/fingerprint.h>
#include <lamina/nn/sampler.h>
#include <lamina/nn/training.h>

#include "metrics_log.h"
#include "progress.h"
#include "train_config.h"

using namespace lamina;

namespace {

// Sums a few counters over all ranks.
std::vector<double> sum_over_ranks(distributed::ProcessGroup& group, std::vector<double> values) {
  Tensor t = from_vector<double>(values, {static_cast<std::int64_t>(values.size())});
  group.allreduce(t, distributed::ReduceOp::Sum)->wait();
  return t.to_vector<double>();
}

// This rank's part of the test set: every world-th sample from its rank on, without padding (evaluation needs
// every sample exactly once, not equal shard lengths).
class StridedSampler : public nn::Sampler {
 public:
  StridedSampler(std::int64_t n, int rank, int world) : n_(n), rank_(rank), world_(world) {}
  std::int64_t size() const override { return (n_ - rank_ + world_ - 1) / world_; }
  std::vector<std::int64_t> indices(std::int64_t) const override {
    std::vector<std::int64_t> out;
    for (std::int64_t i = rank_; i < n_; i += world_) out.push_back(i);
    return out;
  }

 private:
  std::int64_t n_;
  int rank_, world_;
};

std::string hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

int run(int argc, char** argv, const distributed::Environment& env) {
  const bool leader = env.world_rank == 0;
  launch::TrainConfig config;
  if (const int code = launch::parse_train_args(argc, argv, leader, config); code >= 0) return code;
  launch::apply_recipe(config);
  if (config.batch_size % env.world_size != 0)
    throw std::invalid_argument("--batch-size " + std::to_string(config.batch_size) + " is not divisible by the " +
                                std::to_string(env.world_size) + " ranks");
  set_num_threads(config.threads);
  manual_seed(config.seed);

  auto group = std::make_shared<distributed::MpiProcessGroup>();
  const nn::FashionMnistOptions data_options{.standardize = config.standardize};
  nn::ImageDataset train = nn::load_fashion_mnist(config.data_dir, nn::Split::Train, data_options);
  nn::ImageDataset test = nn::load_fashion_mnist(config.data_dir, nn::Split::Test, data_options);
  if (config.train_samples > 0 && config.train_samples < train.size()) train = train.head(config.train_samples);
  if (config.test_samples > 0 && config.test_samples < test.size()) test = test.head(config.test_samples);

  const std::int64_t per_rank_batch = config.batch_size / env.world_size;
  distributed::DistributedSampler train_sampler(train.size(), env.world_rank, env.world_size, {.seed = config.seed});
  StridedSampler test_sampler(test.size(), env.world_rank, env.world_size);
  nn::DataLoader train_loader(train, per_rank_batch, train_sampler);
  nn::DataLoader test_loader(test, 1024, test_sampler);

  std::shared_ptr<nn::Module> model = launch::make_model(config);
  if (config.recipe == "d2l") {
    // d2l.ai's initialization: N(0, 0.01) for the MLP's weights, Xavier for LeNet's; biases keep the default.
    model->initialize(config.model == "mlp" ? nn::init::normal(0.0, 0.01) : nn::init::xavier_uniform(),
                      [](const std::string& name) { return name == "weight"; });
  }
  {
    // A dry run on one sample gives deferred parameters their shapes before DDP and the optimizer see them
    // (eval mode: it must not touch BatchNorm's running statistics).
    NoGradGuard no_grad;
    model->eval();
    (*model)(train.get_batch(std::vector<std::int64_t>{0}).inputs);
    model->train();
  }
  std::shared_ptr<nn::Module> replica = model;
  if (env.world_size > 1) replica = std::make_shared<distributed::DistributedDataParallel>(model, group);
  auto optimizer = launch::make_optimizer(config, replica->named_parameters());
  auto schedule = launch::make_schedule(config, *optimizer, config.epochs * train_loader.size());

  launch::MetricsLog metrics(leader ? config.metrics_path : "");
  if (leader) {
    std::printf("lamina-train: %d rank(s) on %s, %d thread(s) each; %lld training and %lld test samples\n",
                env.world_size, env.hostname.c_str(), config.threads, static_cast<long long>(train.size()),
                static_cast<long long>(test.size()));
    std::printf("%s\n", launch::describe(config).c_str());
    std::fflush(stdout);
  }

  for (int epoch = 0; epoch < config.epochs; ++epoch) {
    train_sampler.set_epoch(epoch);
    launch::ProgressBar progress(epoch + 1, config.epochs, train_loader.size(), config.batch_size, leader);
    const nn::EpochStats stats = nn::train_epoch(
        *replica, *optimizer, train_loader,
        {.scheduler = schedule.get(), .on_step = [&](std::int64_t step, std::int64_t, double loss) {
           progress.update(step, loss);
           metrics.write({{"event", std::string("step")}, {"epoch", static_cast<long long>(epoch)},
                          {"step", static_cast<long long>(step)}, {"loss", loss}, {"lr", optimizer->lr()}});
         }});
    progress.finish();
    const nn::EpochStats eval = nn::evaluate(*model, test_loader);
    const auto totals = sum_over_ranks(*group, {stats.loss_sum, static_cast<double>(stats.correct),
                                                static_cast<double>(stats.samples), static_cast<double>(eval.correct),
                                                static_cast<double>(eval.samples), stats.seconds});
    const double train_loss = totals[0] / totals[2], train_accuracy = totals[1] / totals[2];
    const double test_accuracy = totals[3] / totals[4];
    const double seconds = totals[5] / env.world_size;
    if (leader) {
      std::printf("epoch %d/%d: train loss %.4f, train accuracy %.4f, test accuracy %.4f, %.1f s, %.0f samples/s\n",
                  epoch + 1, config.epochs, train_loss, train_accuracy, test_accuracy, seconds, totals[2] / seconds);
      std::fflush(stdout);
    }
    metrics.write({{"event", std::string("epoch")}, {"epoch", static_cast<long long>(epoch)}, {"train_loss", train_loss},
                   {"train_accuracy", train_accuracy}, {"test_accuracy", test_accuracy}, {"seconds", seconds},
                   {"samples_per_second", totals[2] / seconds}});
  }

  const std::uint64_t fp = nn::fingerprint(model->parameters());
  std::vector<Tensor> gathered;
  for (int r = 0; r < env.world_size; ++r) gathered.push_back(zeros({1}, {.dtype = DType::Int64}));
  group->allgather(gathered, from_vector<std::int64_t>({static_cast<std::int64_t>(fp)}, {1}))->wait();
  bool equal = true;
  for (const Tensor& g : gathered) equal = equal && static_cast<std::uint64_t>(g.data<std::int64_t>()[0]) == fp;
  std::printf("rank %d: fingerprint %s%s\n", env.world_rank, hex(fp).c_str(),
              leader ? (equal ? " (equal on all ranks)" : " (REPLICAS DIFFER)") : "");
  metrics.write({{"event", std::string("end")}, {"fingerprint", hex(fp)}, {"replicas_equal", static_cast<long long>(equal)}});
  return equal ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  distributed::MpiRuntime mpi(&argc, &argv);
  try {
    return run(argc, argv, mpi.env());
  } catch (const std::exception& e) {
    distributed::abort_job(e);
  }
}
