// One data-parallel training step of lamina at the job's world size, for weak and strong scaling: zero_grad,
// forward, cross-entropy, backward (DistributedDataParallel averages the gradients; a plain model at 1 rank), SGD
// step, on a fixed random batch per rank. scaling_pytorch.py is the same program with PyTorch DDP over gloo;
// scaling.sh runs both at 1, 2 and 4 ranks and computes the efficiencies.
//
//   OMP_NUM_THREADS=1 mpirun -n N scaling_benchmark MODEL PER_RANK_BATCH STEPS WARMUP [MODE [TRACE]]
//     MODEL        mlp (784-256-10 ReLU) | lenet (d2l's sigmoid/avg-pool LeNet), d2l's initialization
//     MODE ddp     (the default) DistributedDataParallel at N > 1 ranks, a plain model at 1
//     independent  every rank trains its own model, without DDP: no communication, the same computation at the
//                  same time on every core — the ceiling of data-parallel efficiency on this machine as it is
//     paired       DDP's cost alone: in this one job, blocks of 25 steps with DDP alternate with blocks of the same
//                  model's copy trained without it, STEPS blocks each, so that the machine's drift hits both alike;
//                  prints the median over pairs of blocks of (step without DDP) / (step with DDP), the lowest rank's
//     paired-mpi   the same with MpiProcessGroup's shared-memory channel turned off
//     interleaved  weak scaling within one job, so that the machine's drift hits the 1-rank and the N-rank figures
//                  alike: each round, every rank in turn trains the model's copy alone for a block of 25 steps
//                  while the others wait asleep (what `mpirun -n 1` measures, on each core), then all train with DDP;
//                  STEPS rounds; prints the median over rounds of (mean step alone) / (slowest rank's DDP step)
//     TRACE        write each rank's bucket timeline (StepTrace, Chrome trace JSON) to TRACE.<rank>
//
// Rank 0 prints one JSON line. ms_median is the slowest rank's median step time. The rest says where the time
// goes, as means over the steps and the ranks (so that they add up to ms_mean): forward and backward up to the end
// of backward's computation (from the reducer's timings), the all-reduce wait exposed after it, and the optimizer
// step; hidden_fraction is the share of all-reduce time that ended before backward did (StepTrace).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <lamina/distributed/distributed_data_parallel.h>
#include <lamina/distributed/environment.h>
#include <lamina/distributed/mpi_process_group.h>
#include <lamina/distributed/step_trace.h>
#include <lamina/lamina.h>

using namespace lamina;
using namespace lamina::distributed;

namespace {

using Clock = std::chrono::steady_clock;

long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }

double over_ranks(ProcessGroup& group, double value, ReduceOp op) {
  Tensor t = from_vector<double>({value}, {1});
  group.allreduce(t, op)->wait();
  return t.item();
}

// MLP or LeNet with d2l's initialization, its deferred parameters materialized by a forward pass over `sample`
// (the same parameters on every call: the seed is fixed), or null.
std::shared_ptr<nn::Module> make_model(const std::string& name, const Tensor& sample) {
  std::shared_ptr<nn::Module> model;
  if (name == "mlp") model = std::make_shared<nn::MLP>();
  else if (name == "lenet") model = std::make_shared<nn::LeNet>();
  else return nullptr;
  manual_seed(0);
  model->initialize(name == "mlp" ? nn::init::normal(0.0, 0.01) : nn::init::xavier_uniform(),
                    [](const std::string& p) { return p == "weight"; });
  NoGradGuard no_grad;
  (*model)(sample);
  return model;
}

// Median step time (ms) of `steps` steps after 5 untimed ones.
double median_step(nn::Module& replica, nn::SGD& optimizer, const Tensor& inputs, const Tensor& targets, int steps) {
  std::vector<double> ms;
  for (int step = 0; step < 5 + steps; ++step) {
    const auto start = Clock::now();
    optimizer.zero_grad();
    cross_entropy(replica(inputs), targets).backward();
    optimizer.step();
    if (step >= 5) ms.push_back(ms_since(start));
  }
  return median_of(ms);
}

// For the paired and interleaved modes: the model wrapped in DDP, and a copy of it trained without DDP, each with
// its own optimizer.
struct WithAndWithoutDdp {
  WithAndWithoutDdp(const std::shared_ptr<nn::Module>& model, const std::string& model_name, double lr,
                    const Tensor& inputs, const std::shared_ptr<MpiProcessGroup>& group)
      : plain(make_model(model_name, inputs)),
        ddp(std::make_shared<DistributedDataParallel>(model, group)),
        with_ddp(ddp->named_parameters(), {.lr = lr}),
        without(plain->named_parameters(), {.lr = lr}) {}
  std::shared_ptr<nn::Module> plain;
  std::shared_ptr<DistributedDataParallel> ddp;
  nn::SGD with_ddp, without;
};

// The paired mode (see the top of the file): blocks with and without DDP alternate; returns the ratios.
std::vector<double> paired_ratios(WithAndWithoutDdp& m, const Tensor& inputs, const Tensor& targets,
                                  ProcessGroup& group, int blocks) {
  std::vector<double> ratios;
  for (int block = 0; block < blocks; ++block) {
    group.barrier()->wait();
    const double ddp_ms = median_step(*m.ddp, m.with_ddp, inputs, targets, 20);
    group.barrier()->wait();
    const double plain_ms = median_step(*m.plain, m.without, inputs, targets, 20);
    ratios.push_back(plain_ms / ddp_ms);
  }
  return ratios;
}

// The interleaved mode (see the top of the file): returns each round's efficiency.
std::vector<double> interleaved_efficiencies(WithAndWithoutDdp& m, const Tensor& inputs, const Tensor& targets,
                                             ProcessGroup& group, int rounds) {
  std::vector<double> efficiencies;
  for (int round = 0; round < rounds; ++round) {
    double alone_ms = 0;  // the sum over ranks of each one's step alone
    for (int r = 0; r < group.size(); ++r) {
      // The waiting ranks sleep in the barrier (MpiProcessGroup's waits yield, then sleep): the core is free.
      group.barrier()->wait();
      const double ms = group.rank() == r ? median_step(*m.plain, m.without, inputs, targets, 20) : 0.0;
      alone_ms += over_ranks(group, ms, ReduceOp::Sum);
    }
    group.barrier()->wait();
    const double ddp_ms = over_ranks(group, median_step(*m.ddp, m.with_ddp, inputs, targets, 20), ReduceOp::Max);
    efficiencies.push_back(alone_ms / group.size() / ddp_ms);
  }
  return efficiencies;
}

}  // namespace

int main(int argc, char** argv) {
  MpiRuntime mpi(&argc, &argv);
  const std::string mode = argc > 5 ? argv[5] : "ddp";
  const bool paired = mode == "paired" || mode == "paired-mpi";
  if (argc < 5 || argc > 7 || (mode != "ddp" && mode != "independent" && mode != "interleaved" && !paired)) {
    std::fprintf(stderr,
                 "usage: %s mlp|lenet PER_RANK_BATCH STEPS WARMUP [ddp|independent|paired|paired-mpi|interleaved [TRACE]]\n",
                 argv[0]);
    return 2;
  }
  const std::string model_name = argv[1];
  const std::int64_t batch = std::atoll(argv[2]);
  const int steps = std::atoi(argv[3]), warmup = std::atoi(argv[4]);
  const Environment& env = mpi.env();
  set_num_threads(1);

  manual_seed(1 + static_cast<std::uint64_t>(env.world_rank));  // each rank its own batch
  const Tensor inputs = rand({batch, 1, 28, 28});
  std::vector<std::int64_t> labels(static_cast<std::size_t>(batch));
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int64_t>((i * 7 + env.world_rank) % 10);
  const Tensor targets = from_vector<std::int64_t>(labels, {batch});
  const std::shared_ptr<nn::Module> model = make_model(model_name, inputs);
  if (!model) {
    std::fprintf(stderr, "unknown model '%s' (mlp or lenet)\n", model_name.c_str());
    return 2;
  }
  const double lr = model_name == "lenet" ? 0.9 : 0.1;
  ProcessGroupOptions group_options;
  group_options.shared_memory = mode != "paired-mpi";
  auto group = std::make_shared<MpiProcessGroup>(group_options);
  if (paired) {
    WithAndWithoutDdp models(model, model_name, lr, inputs, group);
    const std::vector<double> ratios = paired_ratios(models, inputs, targets, *group, steps);
    const double kept = -over_ranks(*group, -median_of(ratios), ReduceOp::Max);  // the lowest rank's
    if (env.world_rank == 0)
      std::printf("{\"impl\": \"lamina\", \"mode\": \"%s\", \"model\": \"%s\", \"ranks\": %d, \"per_rank_batch\": %lld, "
                  "\"blocks\": %d, \"ddp_keeps\": %.4f}\n",
                  mode.c_str(), model_name.c_str(), env.world_size, static_cast<long long>(batch), steps, kept);
    return 0;
  }
  if (mode == "interleaved") {
    WithAndWithoutDdp models(model, model_name, lr, inputs, group);
    const std::vector<double> efficiencies = interleaved_efficiencies(models, inputs, targets, *group, steps);
    if (env.world_rank == 0) {
      std::printf("{\"impl\": \"lamina\", \"mode\": \"%s\", \"model\": \"%s\", \"ranks\": %d, \"per_rank_batch\": %lld, "
                  "\"rounds\": %d, \"efficiency\": %.4f, \"rounds_efficiency\": [",
                  mode.c_str(), model_name.c_str(), env.world_size, static_cast<long long>(batch), steps,
                  median_of(efficiencies));
      for (std::size_t i = 0; i < efficiencies.size(); ++i) std::printf("%s%.4f", i ? ", " : "", efficiencies[i]);
      std::printf("]}\n");
    }
    return 0;
  }
  std::shared_ptr<DistributedDataParallel> ddp;
  std::shared_ptr<nn::Module> replica = model;
  if (env.world_size > 1 && mode == "ddp") replica = ddp = std::make_shared<DistributedDataParallel>(model, group);
  nn::SGD optimizer(replica->named_parameters(), {.lr = lr});
  model->train();

  StepTrace trace;
  std::vector<double> step_ms, compute_ms, exposed_ms, optimizer_ms;
  long faults = 0;
  for (int step = 0; step < warmup + steps; ++step) {
    if (step == warmup) faults = minor_faults();
    const auto start = Clock::now();
    optimizer.zero_grad();
    cross_entropy((*replica)(inputs), targets).backward();
    const double after_backward = ms_since(start);
    optimizer.step();
    const double total = ms_since(start);
    if (step < warmup) continue;
    step_ms.push_back(total);
    optimizer_ms.push_back(total - after_backward);
    double compute = after_backward, exposed = 0;
    if (ddp) {
      const Reducer& reducer = *ddp->reducer();
      trace.record(reducer);
      // Timings count from the reducer's step start, a moment after `start` (DDP's forward arms it).
      const double offset = std::chrono::duration<double, std::milli>(reducer.last_step_start() - start).count();
      compute = offset + reducer.last_backward_end_us() / 1e3;
      exposed = after_backward - compute;
    }
    compute_ms.push_back(compute);
    exposed_ms.push_back(exposed);
  }
  faults = minor_faults() - faults;
  const double ms = over_ranks(*group, median_of(step_ms), ReduceOp::Max);
  const double mean = over_ranks(*group, mean_of(step_ms), ReduceOp::Average);
  const double compute = over_ranks(*group, mean_of(compute_ms), ReduceOp::Average);
  const double exposed = over_ranks(*group, mean_of(exposed_ms), ReduceOp::Average);
  const double opt = over_ranks(*group, mean_of(optimizer_ms), ReduceOp::Average);
  if (argc == 7 && ddp) trace.write(std::string(argv[6]) + "." + std::to_string(env.world_rank), env.world_rank);
  std::size_t gradient_bytes = 0, buckets = 0;
  if (ddp) {
    buckets = ddp->reducer()->buckets().size();
    for (const Bucket& b : ddp->reducer()->buckets())
      gradient_bytes += static_cast<std::size_t>(b.buffer.numel()) * dtype_size(b.buffer.dtype());
  }
  if (env.world_rank == 0)
    std::printf("{\"impl\": \"lamina\", \"mode\": \"%s\", \"model\": \"%s\", \"ranks\": %d, \"per_rank_batch\": %lld, \"steps\": %d, "
                "\"ms_median\": %.4f, \"ms_mean\": %.4f, \"samples_per_s\": %.1f, \"compute_ms\": %.4f, \"exposed_comm_ms\": %.4f, "
                "\"optimizer_ms\": %.4f, \"hidden_fraction\": %.4f, \"buckets\": %zu, \"gradient_bytes\": %zu, \"page_faults_per_step\": %.1f}\n",
                mode.c_str(), model_name.c_str(), env.world_size, static_cast<long long>(batch), steps, ms, mean,
                1e3 * static_cast<double>(batch * env.world_size) / ms, compute, exposed, opt,
                ddp ? trace.hidden_fraction() : 0.0, buckets, gradient_bytes, static_cast<double>(faults) / steps);
  return 0;
}
