// A collective smoke test for a job spread over several hosts (the multi-host ctest runs it on network-namespace
// hosts, over TCP): every rank checks where the ranks run and the result of every collective, and the job exits
// non-zero when any check failed on any rank.
//   mpirun ... host_smoke EXPECTED_HOSTS
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <string>

#include <lamina/distributed/environment.h>
#include <lamina/distributed/mpi_process_group.h>
#include <lamina/lamina.h>

using namespace lamina;
using namespace lamina::distributed;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  if (ok) return;
  ++failures;
  const Environment& env = environment();
  std::fprintf(stderr, "host_smoke: rank %d on %s: FAILED: %s\n", env.world_rank, env.hostname.c_str(), what.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  MpiRuntime mpi(&argc, &argv);
  const Environment& env = mpi.env();
  const int expected_hosts = argc > 1 ? std::atoi(argv[1]) : 1;
  try {
    const int rank = env.world_rank, size = env.world_size;
    // Placement: the hosts, and local ranks that number the ranks sharing this rank's hostname.
    const std::set<std::string> hosts(env.hostnames.begin(), env.hostnames.end());
    check(static_cast<int>(hosts.size()) == expected_hosts,
          "expected " + std::to_string(expected_hosts) + " hosts, found " + describe_placement(env.hostnames));
    int here = 0, before = 0;
    for (int r = 0; r < size; ++r) {
      here += env.hostnames[static_cast<std::size_t>(r)] == env.hostname;
      before += r < rank && env.hostnames[static_cast<std::size_t>(r)] == env.hostname;
    }
    check(env.local_size == here, "local size " + std::to_string(env.local_size) + ", but " + std::to_string(here) +
                                      " ranks have this hostname");
    check(env.local_rank == before, "local rank " + std::to_string(env.local_rank) + ", expected " + std::to_string(before));

    MpiProcessGroup pg;
    // allreduce: the sum of 1..size, and one of 24 MiB, which goes in several pieces (kChunkBytes).
    Tensor t = full({3}, static_cast<double>(rank + 1), {.dtype = DType::Float64});
    pg.allreduce(t)->wait();
    check(t.to_vector<double>() == std::vector<double>(3, size * (size + 1) / 2.0), "allreduce(sum)");
    const std::int64_t big = std::int64_t{6} << 20;
    Tensor large = full({big}, static_cast<float>(rank));
    pg.allreduce(large, ReduceOp::Max)->wait();
    check(large.to_vector<float>()[static_cast<std::size_t>(big - 1)] == static_cast<float>(size - 1),
          "allreduce(max) of 24 MiB");
    // broadcast from the last rank (another host than rank 0's when there are several).
    Tensor b = full({4}, rank == size - 1 ? 7.0 : -1.0);
    pg.broadcast(b, size - 1)->wait();
    check(b.to_vector<float>() == std::vector<float>(4, 7.0f), "broadcast from the last rank");
    // allgather: slot r holds rank r's value.
    std::vector<Tensor> gathered;
    for (int r = 0; r < size; ++r) gathered.push_back(zeros({2}, {.dtype = DType::Int64}));
    pg.allgather(gathered, from_vector<std::int64_t>({rank, 10 * std::int64_t{rank}}, {2}))->wait();
    for (int r = 0; r < size; ++r)
      check(gathered[static_cast<std::size_t>(r)].to_vector<std::int64_t>() == std::vector<std::int64_t>{r, 10 * r},
            "allgather slot " + std::to_string(r));
    // reduce_scatter: chunk r of every rank's input is r + rank; rank r gets the sum over ranks.
    Tensor input = Tensor::empty({size});
    for (int r = 0; r < size; ++r) input.data<float>()[r] = static_cast<float>(r + rank);
    Tensor out = Tensor::empty({1});
    pg.reduce_scatter(out, input)->wait();
    check(out.to_vector<float>()[0] == static_cast<float>(size * rank + size * (size - 1) / 2), "reduce_scatter");
    pg.barrier()->wait();

    Tensor failed = full({1}, static_cast<double>(failures), {.dtype = DType::Float64});
    pg.allreduce(failed)->wait();
    if (rank == 0)
      std::printf("host_smoke: %d ranks on %s: %s\n", size, describe_placement(env.hostnames).c_str(),
                  failed.item() == 0 ? "every collective agrees" : "FAILED");
    return failed.item() == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    abort_job(e);
  }
}
