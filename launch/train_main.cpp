// lamina-train: data-parallel training on Fashion-MNIST.
//
//   mpirun -np 2 lamina-train --model mlp --epochs 10
//
// Every rank holds a replica of the model; each step, each rank trains on its shard of the global batch and
// DistributedDataParallel averages the gradients. Rank 0 prints progress and per-epoch test accuracy (evaluated
// over all ranks' shards of the test set), and every rank ends with the fingerprint of its parameters: they are
// equal when the replicas are.
//
// Checkpoints. With --checkpoint-dir D, rank 0 writes D/checkpoint-<step>.ckpt (nn/checkpoint.h) at the end of
// training, and also after every N-th optimizer step (--checkpoint-every N; a step that ends an epoch is saved after
// that epoch's evaluation instead) or at the end of every N-th epoch (--checkpoint-every Nepochs); it keeps the last
// --keep of them. The other ranks wait for rank 0's outcome, and a failed write stops every rank with its path and
// cause. --resume continues from the latest complete checkpoint in D (--resume PATH: from that file), on every rank;
// the checkpoint must come from the same run (model, data, global batch, optimizer, schedule, seed, epochs: see
// launch::run_identity), and may come from another world size.
//
// What a resume reproduces. At the world size it was saved at, the rest of the run is bitwise that of a run that
// never stopped: the same remaining batches (DistributedSampler::resume_epoch), parameters, optimizer state, LR
// schedule and generator, so every later "step" metrics line and the final fingerprint are identical. At another
// world size the global batches are still the same samples in the same order, but each is split differently over
// the ranks, so gradients are summed in another order: the run agrees with the uninterrupted one to rounding, not
// bitwise — for models without BatchNorm (whose batch statistics are per rank, so a different split is a different
// computation). The epoch's summary line after a mid-epoch resume covers only the steps run since the resume.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <stdexcept>

#include <unistd.h>

#include <lamina/distributed/distributed_data_parallel.h>
#include <lamina/distributed/distributed_sampler.h>
#include <lamina/distributed/environment.h>
#include <lamina/distributed/mpi_process_group.h>
#include <lamina/distributed/step_trace.h>
#include <lamina/lamina.h>
#include <lamina/nn/checkpoint.h>
#include <lamina/nn/data_loader.h>
#include <lamina/nn/dataset.h>
#include <lamina/nn/fingerprint.h>
#include <lamina/nn/npz.h>
#include <lamina/nn/restore.h>
#include <lamina/nn/sampler.h>
#include <lamina/nn/training.h>

#include "device_selection.h"
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

// How long Open MPI takes to notice that a host is gone: its daemons' TCP keepalive (mpirun passes its MCA
// parameters to the ranks as OMPI_MCA_* variables; Open MPI's defaults otherwise).
double host_loss_seconds() {
  auto param = [](const char* name, double fallback) {
    const char* value = std::getenv(name);
    return value ? std::atof(value) : fallback;
  };
  return param("OMPI_MCA_oob_tcp_keepalive_time", 300) +
         param("OMPI_MCA_oob_tcp_keepalive_intvl", 20) * param("OMPI_MCA_oob_tcp_keepalive_probes", 9);
}

// The failure tests' injected failure (the hidden flags --fail-at-step, --fail-rank, --fail-mode). It prints the
// time, so that a test can measure how long the job takes to end after it.
void inject_failure(const launch::TrainConfig& config, const distributed::Environment& env, std::int64_t step) {
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::fprintf(stderr, "lamina-train: rank %d on %s: injecting failure '%s' after step %lld (at unix time %.3f)\n",
               env.world_rank, env.hostname.c_str(), config.fail_mode.c_str(), static_cast<long long>(step), now);
  std::fflush(stderr);
  if (config.fail_mode == "exit") std::exit(3);  // without finalizing MPI
  if (config.fail_mode == "kill") std::raise(SIGKILL);
  if (config.fail_mode == "segv") std::raise(SIGSEGV);
  if (config.fail_mode == "hang") {
    // Stopped, like a suspended process: alive, but it never reaches another collective (nor after a SIGCONT).
    std::raise(SIGSTOP);
    for (;;) pause();
  }
  throw std::runtime_error("injected failure after step " + std::to_string(step));
}

// An error every rank met at the same point of the run (so no rank waits in a collective for another): the job
// ends with a message from every rank and a non-zero exit code, without an MPI abort.
class JobError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs `fn` on every rank and agrees on the outcome: when it failed on any rank, every rank throws a JobError —
// with its own error, or naming the ranks that failed.
void on_every_rank(distributed::ProcessGroup& group, const std::function<void()>& fn) {
  std::string error;
  try {
    fn();
  } catch (const std::exception& e) {
    error = e.what();
  }
  const auto failed = sum_over_ranks(group, {error.empty() ? 0.0 : 1.0});
  if (!error.empty()) throw JobError(error);
  if (failed[0] > 0) throw JobError(std::to_string(static_cast<int>(failed[0])) + " other rank(s) failed (see their errors)");
}

// Sends rank 0's error (empty: none) to every rank, which then all throw it as a JobError.
void share_rank0_outcome(distributed::ProcessGroup& group, const std::string& error) {
  Tensor length = from_vector<std::int64_t>({static_cast<std::int64_t>(error.size())}, {1});
  group.broadcast(length, 0)->wait();
  const std::int64_t n = length.data<std::int64_t>()[0];
  if (n == 0) return;
  Tensor text = zeros({(n + 7) / 8}, {.dtype = DType::Int64});
  if (group.rank() == 0) std::memcpy(text.raw_data(), error.data(), error.size());
  group.broadcast(text, 0)->wait();
  const std::string message(static_cast<const char*>(text.raw_data()), static_cast<std::size_t>(n));
  throw JobError(group.rank() == 0 ? message : "rank 0 failed: " + message);
}

// The run identity of a checkpoint against this run's: every difference, or "" when they match.
std::string identity_differences(const std::map<std::string, std::string>& saved,
                                 const std::map<std::string, std::string>& now) {
  std::string out;
  for (const auto& [key, value] : now) {
    const auto it = saved.find(key);
    const std::string was = it == saved.end() ? "(absent)" : it->second;
    if (was != value) out += (out.empty() ? "" : ", ") + key + " " + was + " (this run: " + value + ")";
  }
  return out;
}

// Rank 0 writes every rank's timeline into one Chrome trace (each rank a process) and reports the share of
// all-reduce time hidden behind backward, averaged over the ranks; a failed write stops every rank.
void write_trace(distributed::ProcessGroup& group, const distributed::StepTrace& trace, const std::string& path,
                 launch::MetricsLog& metrics) {
  const std::string mine = trace.events(group.rank());
  int length = static_cast<int>(mine.size());
  std::vector<int> lengths(static_cast<std::size_t>(group.size())), offsets(lengths.size());
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::string all;
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    offsets[r] = static_cast<int>(all.size());
    all.resize(all.size() + static_cast<std::size_t>(lengths[r]));
  }
  MPI_Gatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
  const double hidden = sum_over_ranks(group, {trace.hidden_fraction()})[0] / group.size();
  std::string error;
  if (group.rank() == 0) {
    std::vector<std::string> events;
    for (std::size_t r = 0; r < lengths.size(); ++r)
      events.push_back(all.substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(lengths[r])));
    try {
      std::ofstream file(path);
      file << distributed::trace_document(events);
      file.close();
      if (!file) throw std::runtime_error("cannot write the trace '" + path + "': " + std::strerror(errno));
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  share_rank0_outcome(group, error);
  if (group.rank() == 0) {
    if (trace.steps() == 0)
      std::printf("trace: %s has no all-reduce (a single rank has nothing to reduce)\n", path.c_str());
    else
      std::printf("trace: %s (%zu steps per rank); all-reduce time hidden behind backward: %.1f%% (mean over %d ranks)\n",
                  path.c_str(), trace.steps(), 100.0 * hidden, group.size());
  }
  metrics.write({{"event", std::string("trace")}, {"path", path}, {"steps", static_cast<long long>(trace.steps())},
                 {"hidden_fraction", hidden}});
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

  distributed::ProcessGroupOptions group_options;
  group_options.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(config.collective_timeout * 1000));
  auto group = std::make_shared<distributed::MpiProcessGroup>(group_options);
  Device device;
  on_every_rank(*group, [&] { device = launch::select_device(config.device, config.allow_tf32, env); });
  if (leader) {
    std::printf("lamina-train: %d rank(s) on %s; device %s; %d thread(s) per rank; collective timeout %g s\n",
                env.world_size, distributed::describe_placement(env.hostnames).c_str(),
                device.is_cpu() ? "cpu" : "cuda (the local rank's GPU)", config.threads, config.collective_timeout);
    // A host that disappears is handled by mpirun only if it notices before a collective times out: once the job
    // is aborting, mpirun waits for the lost host's daemon until TCP gives up (about 15 minutes).
    const bool several_hosts = std::set<std::string>(env.hostnames.begin(), env.hostnames.end()).size() > 1;
    if (several_hosts && config.collective_timeout <= host_loss_seconds())
      std::printf("lamina-train: note: --collective-timeout %g s is not above the %g s Open MPI takes to notice a "
                  "lost host (oob_tcp_keepalive_*; lamina-run sets 25 s): if a host disappears, mpirun may wait for "
                  "it for minutes\n",
                  config.collective_timeout, host_loss_seconds());
    std::fflush(stdout);
  }
  const nn::FashionMnistOptions data_options{.standardize = config.standardize};
  nn::ImageDataset train = nn::load_fashion_mnist(config.data_dir, nn::Split::Train, data_options);
  nn::ImageDataset test = nn::load_fashion_mnist(config.data_dir, nn::Split::Test, data_options);
  if (config.train_samples > 0 && config.train_samples < train.size()) train = train.head(config.train_samples);
  if (config.test_samples > 0 && config.test_samples < test.size()) test = test.head(config.test_samples);

  const std::int64_t per_rank_batch = config.batch_size / env.world_size;
  distributed::DistributedSampler train_sampler(train.size(), env.world_rank, env.world_size, {.seed = config.seed});
  StridedSampler test_sampler(test.size(), env.world_rank, env.world_size);
  nn::DataLoader train_loader(train, per_rank_batch, train_sampler, config.drop_last);
  nn::DataLoader test_loader(test, 1024, test_sampler);
  // Batches in page-locked memory: their copies to the GPU run at the bus's full speed.
  train_loader.set_pin_memory(device.is_cuda());
  test_loader.set_pin_memory(device.is_cuda());
  const std::int64_t steps_per_epoch = train_loader.size();

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
  if (!config.init_from.empty())
    on_every_rank(*group, [&] { nn::load_model_state(*model, nn::load_npz(config.init_from), config.init_from); });
  model->to(device);
  std::shared_ptr<nn::Module> replica = model;
  std::shared_ptr<distributed::DistributedDataParallel> ddp;
  if (env.world_size > 1) {
    const auto cap = static_cast<std::size_t>(config.bucket_cap_mb * (1 << 20));
    replica = ddp = std::make_shared<distributed::DistributedDataParallel>(
        model, launch::gradient_group(device, group, group_options),
        distributed::DdpOptions{.bucket_cap_bytes = cap, .first_bucket_cap_bytes = std::min<std::size_t>(cap, 1 << 20)});
  }
  distributed::StepTrace trace;
  auto optimizer = launch::make_optimizer(config, replica->named_parameters());
  auto schedule = launch::make_schedule(config, *optimizer, config.epochs * steps_per_epoch);
  const std::map<std::string, std::string> identity = launch::run_identity(config, train.size());

  // Resume: every rank reads the checkpoint (a shared file system is assumed) and applies it.
  std::int64_t global_step = 0;
  int start_epoch = 0;
  if (!config.resume.empty()) {
    std::string path = config.resume;
    on_every_rank(*group, [&] {
      if (config.resume == "latest") {
        const nn::CheckpointDirectory found = nn::scan_checkpoint_directory(config.checkpoint_dir);
        if (leader)
          for (const std::string& tmp : found.unfinished)
            std::printf("note: %s is the remains of a checkpoint write that did not finish; it is ignored\n", tmp.c_str());
        if (!found.latest) throw std::runtime_error("--resume: no complete checkpoint in '" + config.checkpoint_dir + "'");
        path = *found.latest;
      }
      const nn::Checkpoint ckpt = nn::load_checkpoint(path);
      if (const std::string diff = identity_differences(ckpt.config, identity); !diff.empty())
        throw std::runtime_error("cannot resume from '" + path + "': it was saved by a different run: " + diff);
      nn::restore_checkpoint(ckpt, path, *model, optimizer.get(), schedule.get());
      train_sampler.resume_epoch(ckpt.epoch, ckpt.epoch_samples_seen);
      global_step = ckpt.step;
      start_epoch = static_cast<int>(ckpt.epoch);
      if (leader) {
        const auto saved_world = ckpt.config.find("world_size");
        std::printf("resumed from %s: epoch %d, step %lld, %lld samples of the epoch seen (saved by %s rank(s))\n",
                    path.c_str(), start_epoch + 1, static_cast<long long>(global_step),
                    static_cast<long long>(ckpt.epoch_samples_seen),
                    saved_world == ckpt.config.end() ? "?" : saved_world->second.c_str());
      }
    });
  }

  launch::MetricsLog metrics(leader ? config.metrics_path : "");

  // Rank 0 writes; the others wait for its outcome, so a failed write stops every rank at the same step.
  auto save_checkpoint = [&](bool announce) {
    std::string error, path;
    if (leader) {
      try {
        nn::Checkpoint ckpt;
        ckpt.model = model->state_dict();
        ckpt.optimizer = optimizer->state_dict();
        ckpt.scheduler_count = schedule ? schedule->count() : 0;
        ckpt.epoch = train_sampler.epoch();
        ckpt.step = global_step;
        ckpt.rng = default_generator().state();
        ckpt.sampler_position = train_sampler.position();
        ckpt.epoch_samples_seen = train_sampler.samples_seen();
        ckpt.config = identity;
        ckpt.config["world_size"] = std::to_string(env.world_size);
        ckpt.config["threads"] = std::to_string(config.threads);
        path = nn::save_checkpoint_to_directory(config.checkpoint_dir, ckpt, config.keep);
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
    share_rank0_outcome(*group, error);
    metrics.write({{"event", std::string("checkpoint")}, {"global_step", static_cast<long long>(global_step)},
                   {"path", path}});
    if (announce && leader) std::printf("saved %s\n", path.c_str());
  };
  const bool checkpointing = !config.checkpoint_dir.empty();
  if (leader) {
    std::printf("%s; %lld training and %lld test samples\n", launch::describe(config).c_str(),
                static_cast<long long>(train.size()), static_cast<long long>(test.size()));
    std::fflush(stdout);
  }

  const bool failing = config.fail_at_step > 0 && config.fail_rank == env.world_rank;
  const auto training_start = std::chrono::steady_clock::now();
  for (int epoch = start_epoch; epoch < config.epochs; ++epoch) {
    train_sampler.set_epoch(epoch);
    const std::int64_t first_step = steps_per_epoch - train_loader.size();  // > 0 in an epoch resumed mid-way
    launch::ProgressBar progress(epoch + 1, config.epochs, train_loader.size(), config.batch_size, leader);
    const nn::EpochStats stats = nn::train_epoch(
        *replica, *optimizer, train_loader,
        {.scheduler = schedule.get(), .on_step = [&](std::int64_t step, std::int64_t, double loss) {
           ++global_step;
           if (ddp && !config.trace_path.empty()) trace.record(*ddp->reducer());
           progress.update(step, loss);
           metrics.write({{"event", std::string("step")}, {"epoch", static_cast<long long>(epoch)},
                          {"step", static_cast<long long>(first_step + step)},
                          {"global_step", static_cast<long long>(global_step)}, {"loss", loss},
                          {"lr", optimizer->lr()}});
           // The epoch's last step is saved after its evaluation, below.
           const bool epoch_ends = train_sampler.epoch() != epoch;
           if (checkpointing && config.checkpoint_every_steps > 0 && global_step % config.checkpoint_every_steps == 0 &&
               !epoch_ends)
             save_checkpoint(/*announce=*/false);  // the progress line is being drawn
           // After the step's checkpoint: a killed rank's last checkpoint is this step's when one was due.
           if (failing && global_step == config.fail_at_step) inject_failure(config, env, global_step);
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
                   {"samples_per_second", totals[2] / seconds},
                   {"elapsed_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - training_start).count()}});
    const bool step_due = config.checkpoint_every_steps > 0 && global_step % config.checkpoint_every_steps == 0;
    const bool epoch_due = config.checkpoint_every_epochs > 0 && (epoch + 1) % config.checkpoint_every_epochs == 0;
    const bool target_reached = config.target_accuracy > 0 && test_accuracy >= config.target_accuracy;
    if (checkpointing && (step_due || epoch_due || epoch + 1 == config.epochs || target_reached)) save_checkpoint(true);
    if (target_reached) {
      if (leader) std::printf("test accuracy %.4f reached the target %.4f: training stops\n", test_accuracy, config.target_accuracy);
      break;
    }
  }

  if (!config.save_npz.empty()) {
    std::string error;
    if (leader) {
      try {
        nn::save_npz(config.save_npz, model->state_dict());
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
    share_rank0_outcome(*group, error);
  }

  if (!config.trace_path.empty()) write_trace(*group, trace, config.trace_path, metrics);

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
  } catch (const JobError& e) {
    std::fprintf(stderr, "lamina-train: rank %d: %s\n", mpi.env().world_rank, e.what());
    return 2;
  } catch (const std::exception& e) {
    distributed::abort_job(e);
  }
}
