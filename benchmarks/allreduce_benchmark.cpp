// All-reduce bandwidth, side by side in one run: raw MPI_Allreduce (in place, one call) against
// MpiProcessGroup::allreduce(...)->wait() (with and without signature checks) on the same float32 tensor, 4 KiB to
// 64 MiB. Run under mpirun, one thread per rank:
//   OMP_NUM_THREADS=1 mpirun -n 2 build/benchmarks/allreduce_benchmark [reps]
// Each repetition starts after a barrier, the three variants take turns in a rotating order, a repetition's time
// is the slowest rank's, and the figures are medians. Bus bandwidth = 2(n-1)/n · bytes / time (what each rank's
// links carry in a ring all-reduce), algorithm bandwidth = bytes / time.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include <lamina/distributed/environment.h>
#include <lamina/distributed/mpi_process_group.h>
#include <lamina/lamina.h>

using namespace lamina;
using namespace lamina::distributed;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  MpiRuntime mpi(&argc, &argv);
  set_num_threads(1);
  const int base_reps = argc > 1 ? std::atoi(argv[1]) : 40;
  const Environment& env = mpi.env();
  const int n = env.world_size;

  MpiProcessGroup checked;  // default options: signatures compared before every collective
  ProcessGroupOptions unchecked_options;
  unchecked_options.check_signatures = false;
  MpiProcessGroup unchecked(unchecked_options);

  if (env.world_rank == 0) {
    std::printf("all-reduce, float32 sum, %d ranks, median of %d+ repetitions (times in ms, bandwidths in GB/s)\n", n,
                base_reps);
    std::printf("%10s | %8s %7s %7s | %8s %7s %7s %6s | %8s %7s %6s\n", "bytes", "raw ms", "algbw", "busbw",
                "pg ms", "algbw", "busbw", "pg/raw", "nocheck", "busbw", "/raw");
  }
  for (std::size_t bytes = std::size_t{4} << 10; bytes <= std::size_t{64} << 20; bytes *= 2) {
    Tensor t = zeros({static_cast<std::int64_t>(bytes / 4)});
    const int count = static_cast<int>(bytes / 4);
    const std::vector<std::function<void()>> variants = {
        [&] { MPI_Allreduce(MPI_IN_PLACE, t.data<float>(), count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); },
        [&] { checked.allreduce(t)->wait(); },
        [&] { unchecked.allreduce(t)->wait(); },
    };
    // Small messages are noisy: repeat them more.
    const int reps = bytes <= (std::size_t{1} << 20) ? 4 * base_reps : base_reps;
    std::vector<std::vector<double>> times(variants.size());
    for (int rep = -3; rep < reps; ++rep) {
      for (std::size_t k = 0; k < variants.size(); ++k) {
        const std::size_t v = (k + static_cast<std::size_t>(rep + 3)) % variants.size();
        MPI_Barrier(MPI_COMM_WORLD);
        const double start = now();
        variants[v]();
        double elapsed = now() - start;
        MPI_Allreduce(MPI_IN_PLACE, &elapsed, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (rep >= 0) times[v].push_back(elapsed);
      }
    }
    const double raw = median(times[0]), pg = median(times[1]), nocheck = median(times[2]);
    const double bus = 2.0 * (n - 1) / n * static_cast<double>(bytes);
    if (env.world_rank == 0)
      std::printf("%10zu | %8.3f %7.2f %7.2f | %8.3f %7.2f %7.2f %6.3f | %8.3f %7.2f %6.3f\n", bytes, raw * 1e3,
                  bytes / raw / 1e9, bus / raw / 1e9, pg * 1e3, bytes / pg / 1e9, bus / pg / 1e9, raw / pg,
                  nocheck * 1e3, bus / nocheck / 1e9, raw / nocheck);
  }
  return 0;
}
