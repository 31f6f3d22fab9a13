// How much of an all-reduce hides behind computation, for the two ways to make MPI collectives asynchronous:
//   iallreduce+test  MPI_Iallreduce (one request per 8 MiB chunk), progressed by the caller with MPI_Testall
//                    after every compute slice (an autograd hook would be the natural place), then MPI_Waitall
//   iallreduce       the same without the MPI_Testall calls: MPI progresses only inside MPI_Waitall
//   comm thread      MpiProcessGroup: a communication thread runs blocking MPI_Allreduce calls from a queue
// Each variant starts the all-reduce, runs the compute slices (1-thread GEMMs, about as long as the all-reduce
// alone), then waits. hidden = (compute + all-reduce alone - total) / all-reduce alone, with the all-reduce
// alone measured the same way as the variant (so 100% = fully overlapped, 0% = serialised, < 0 = slower than
// serial); the last figure compares the total with compute followed by MpiProcessGroup's blocking all-reduce.
// Run under mpirun, one thread per rank:
//   OMP_NUM_THREADS=1 mpirun -n 2 build/benchmarks/overlap_benchmark [reps]
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

// Median over repetitions of the slowest rank's time; each repetition starts after a barrier.
double time_median(int reps, const std::function<void()>& fn) {
  std::vector<double> times;
  for (int rep = -2; rep < reps; ++rep) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double start = now();
    fn();
    double elapsed = now() - start;
    MPI_Allreduce(MPI_IN_PLACE, &elapsed, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (rep >= 0) times.push_back(elapsed);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

std::vector<MPI_Request> start_iallreduce(const Tensor& t) {
  const std::int64_t chunk = static_cast<std::int64_t>(MpiProcessGroup::kChunkBytes / 4);
  std::vector<MPI_Request> requests;
  for (std::int64_t begin = 0; begin < t.numel(); begin += chunk) {
    requests.emplace_back();
    MPI_Iallreduce(MPI_IN_PLACE, t.data<float>() + begin, static_cast<int>(std::min(chunk, t.numel() - begin)),
                   MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &requests.back());
  }
  return requests;
}

}  // namespace

int main(int argc, char** argv) {
  MpiRuntime mpi(&argc, &argv);
  set_num_threads(1);
  const int reps = argc > 1 ? std::atoi(argv[1]) : 15;
  const bool root = mpi.env().world_rank == 0;
  MpiProcessGroup pg;

  const Tensor a = full({256, 512}, 0.5);
  const Tensor b = full({512, 512}, 0.25);
  const auto slice = [&] { (void)matmul(a, b); };
  const double slice_time = time_median(reps, slice);
  if (root)
    std::printf("overlap of a float32 all-reduce with 1-thread GEMM slices (%.3f ms each), %d ranks, median of %d\n",
                slice_time * 1e3, mpi.env().world_size, reps);

  for (std::size_t bytes : {std::size_t{1} << 20, std::size_t{8} << 20, std::size_t{32} << 20}) {
    Tensor t = zeros({static_cast<std::int64_t>(bytes / 4)});
    const double blocking = time_median(reps, [&] { pg.allreduce(t)->wait(); });
    const int slices = std::max(1, static_cast<int>(blocking / slice_time + 0.5));
    const auto compute = [&] {
      for (int i = 0; i < slices; ++i) slice();
    };
    const double compute_time = time_median(reps, compute);
    const double serial = time_median(reps, [&] {
      compute();
      pg.allreduce(t)->wait();
    });

    struct Variant {
      const char* name;
      std::function<void()> alone;
      std::function<void()> overlapped;
    };
    const std::vector<Variant> variants = {
        {"iallreduce+test",
         [&] {
           auto requests = start_iallreduce(t);
           MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
         },
         [&] {
           auto requests = start_iallreduce(t);
           for (int i = 0; i < slices; ++i) {
             slice();
             int done = 0;
             MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE);
           }
           MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
         }},
        {"iallreduce",
         [&] {
           auto requests = start_iallreduce(t);
           MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
         },
         [&] {
           auto requests = start_iallreduce(t);
           compute();
           MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
         }},
        {"comm thread", [&] { pg.allreduce(t)->wait(); },
         [&] {
           auto work = pg.allreduce(t);
           compute();
           work->wait();
         }},
    };
    if (root)
      std::printf("\n%zu KiB: blocking all-reduce %.3f ms, compute %.3f ms (%d slices), compute then all-reduce %.3f ms\n",
                  bytes >> 10, blocking * 1e3, compute_time * 1e3, slices, serial * 1e3);
    for (const Variant& v : variants) {
      const double alone = time_median(reps, v.alone);
      const double total = time_median(reps, v.overlapped);
      if (root)
        std::printf("  %-16s all-reduce alone %8.3f ms, with compute %8.3f ms: hidden %5.0f%%, %.2fx the time of compute "
                    "then blocking all-reduce\n",
                    v.name, alone * 1e3, total * 1e3, 100.0 * (compute_time + alone - total) / alone, total / serial);
    }
  }
  return 0;
}
