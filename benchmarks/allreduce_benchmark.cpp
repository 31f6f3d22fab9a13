// All-reduce time, side by side in one run: raw MPI_Allreduce (in place, one call) against
// MpiProcessGroup::allreduce(...)->wait() (with and without signature checks, and with its shared-memory channel
// turned off: MPI only) on the same float32 tensor, and, where the group has symmetric memory (2 ranks on one
// node), on a symmetric tensor of the same size (what DistributedDataParallel's buckets are), 4 KiB to
// MAX_BYTES (default 64 MiB). Run under mpirun, one thread per rank:
//   OMP_NUM_THREADS=1 mpirun -n 2 build/benchmarks/allreduce_benchmark [REPS [MAX_BYTES]]
// Each variant runs in blocks of kBlock calls, each after a barrier, the first of a block untimed: the steady state
// of a training loop, which repeats one collective (the call after another variant pays for the caches that
// variant left: 512 KiB through the shared-memory channel took 68 µs after itself, 117-154 µs after an MPI call).
// The blocks take turns in an order shuffled anew every round (the same on every rank). A call's time is the
// slowest rank's; the figures are medians (of 4 × REPS calls up to 1 MiB, REPS above), with rank 0's minor page
// faults per call (the whole process, communication thread included). Rank 0 prints one JSON line
// per variant and size; benchmarks/allreduce.sh turns them into bandwidths and tables.
#include <mpi.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <random>
#include <vector>

#include <lamina/distributed/environment.h>
#include <lamina/distributed/mpi_process_group.h>
#include <lamina/lamina.h>

using namespace lamina;
using namespace lamina::distributed;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

constexpr int kBlock = 5;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  MpiRuntime mpi(&argc, &argv);
  set_num_threads(1);
  const int base_reps = argc > 1 ? std::atoi(argv[1]) : 40;
  const std::size_t max_bytes = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : std::size_t{64} << 20;
  const Environment& env = mpi.env();
  const int n = env.world_size;

  MpiProcessGroup checked;  // default options: signatures compared before every collective
  ProcessGroupOptions unchecked_options;
  unchecked_options.check_signatures = false;
  MpiProcessGroup unchecked(unchecked_options);
  ProcessGroupOptions mpi_options;
  mpi_options.shared_memory = false;
  MpiProcessGroup through_mpi(mpi_options);

  for (std::size_t bytes = std::size_t{4} << 10; bytes <= max_bytes; bytes *= 2) {
    Tensor t = zeros({static_cast<std::int64_t>(bytes / 4)});
    const int count = static_cast<int>(bytes / 4);
    Tensor symmetric = checked.allocate_symmetric(count, DType::Float32, Device::cpu());
    std::vector<std::function<void()>> variants = {
        [&] { MPI_Allreduce(MPI_IN_PLACE, t.data<float>(), count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); },
        [&] { checked.allreduce(t)->wait(); },
        [&] { unchecked.allreduce(t)->wait(); },
        [&] { through_mpi.allreduce(t)->wait(); },
    };
    if (symmetric.defined()) variants.push_back([&] { checked.allreduce(symmetric)->wait(); });
    // Small messages are noisy: repeat them more.
    const int reps = bytes <= (std::size_t{1} << 20) ? 4 * base_reps : base_reps;
    std::vector<std::vector<double>> times(variants.size());
    std::vector<long> faults(variants.size(), 0);
    for (int round = -1; static_cast<int>(times[0].size()) < reps; ++round) {  // round -1 warms up
      std::vector<std::size_t> order(variants.size());
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::shuffle(order.begin(), order.end(), std::mt19937(static_cast<unsigned>(round + 1)));
      for (const std::size_t v : order) {
        for (int call = 0; call < kBlock; ++call) {
          const bool timed = round >= 0 && call > 0;
          MPI_Barrier(MPI_COMM_WORLD);
          const long faults_before = minor_faults();
          const double start = now();
          variants[v]();
          double elapsed = now() - start;
          if (timed) faults[v] += minor_faults() - faults_before;
          MPI_Allreduce(MPI_IN_PLACE, &elapsed, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
          if (timed) times[v].push_back(elapsed);
        }
      }
    }
    const char* names[] = {"\"impl\": \"mpi\", \"variant\": \"MPI_Allreduce\"",
                           "\"impl\": \"lamina\", \"variant\": \"MpiProcessGroup\"",
                           "\"impl\": \"lamina\", \"variant\": \"MpiProcessGroup, no signature check\"",
                           "\"impl\": \"lamina\", \"variant\": \"MpiProcessGroup, MPI only\"",
                           "\"impl\": \"lamina\", \"variant\": \"MpiProcessGroup, symmetric tensor\""};
    for (std::size_t v = 0; v < variants.size(); ++v)
      if (env.world_rank == 0)
        std::printf("{%s, \"ranks\": %d, \"bytes\": %zu, \"seconds\": %.9f, \"reps\": %d, \"faults_per_call\": %.1f}\n",
                    names[v], n, bytes, median(times[v]), static_cast<int>(times[v].size()),
                    static_cast<double>(faults[v]) / static_cast<double>(times[v].size()));
    std::fflush(stdout);
  }
  return 0;
}
