#pragma once
// MPI start-up and shut-down, and where this process sits in the job.
//
// How a job ends when one rank fails. Every collective has a timeout (ProcessGroupOptions::timeout) after which
// Work::wait() throws CollectiveError, so no rank waits forever for a peer. A rank that fails must then take the
// whole job down, because its peers may be blocked in a collective it will never join. The pattern:
//
//   int main(int argc, char** argv) {
//     lamina::distributed::MpiRuntime mpi(&argc, &argv);
//     try {
//       ... train ...
//     } catch (const std::exception& e) {
//       lamina::distributed::abort_job(e);  // prints the error with the rank, then MPI_Abort: mpirun kills every rank
//     }
//   }
//
// Without the try/catch the job still ends: MpiRuntime installs a std::terminate handler that reports the
// uncaught exception and calls MPI_Abort, and its destructor aborts instead of finalizing when it runs during
// stack unwinding or after a collective on this rank timed out (MPI_Finalize would wait for the peers forever).
// A rank that calls exit() or dies from a signal without finalizing makes mpirun end the job on its own.
#include <exception>
#include <string>
#include <vector>

namespace lamina::distributed {

struct Environment {
  int world_rank = 0;
  int world_size = 1;
  int local_rank = 0;  // among the ranks on this host (MPI_COMM_TYPE_SHARED); selects the GPU
  int local_size = 1;
  std::string hostname;
  std::vector<std::string> hostnames;  // of every rank, by world rank
};

// Sorted ranks as ranges: {0, 1, 2, 5} -> "0-2,5".
std::string rank_ranges(std::vector<int> ranks);
// Which ranks run where, hosts in the order of their first rank, given every rank's hostname (by rank):
// "2 hosts: a (ranks 0-1), b (ranks 2-3)". Long lists end with "... and N more hosts".
std::string describe_placement(const std::vector<std::string>& hostnames);
// Some ranks and their hosts, for error messages: "rank 3 on b", "ranks 2-3 on b, rank 5 on c".
std::string describe_ranks(const std::vector<int>& ranks, const std::vector<std::string>& hostnames);

// Initializes MPI with MPI_THREAD_MULTIPLE unless it is initialized already, and checks that level in both cases
// (std::runtime_error naming the level MPI provided). When it initializes MPI itself it registers MPI_Finalize
// with std::atexit (then a rank that calls exit() mid-job waits in MPI_Finalize for peers that wait for it: use
// MpiRuntime in main for the guarantees above). The first call is collective over MPI_COMM_WORLD (it splits the
// world by host and gathers every rank's hostname).
void ensure_mpi_initialized();

// This process's place in the job (initializes MPI when needed; see ensure_mpi_initialized).
const Environment& environment();

// Owns MPI for the duration of main(): initializes it (with MPI_THREAD_MULTIPLE, as ensure_mpi_initialized) and
// finalizes it exactly once, in its destructor.
class MpiRuntime {
 public:
  explicit MpiRuntime(int* argc = nullptr, char*** argv = nullptr);
  ~MpiRuntime();
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;

  const Environment& env() const { return environment(); }

 private:
  int uncaught_at_start_;
};

// Prints `error` with this rank and host to stderr and ends the whole job (MPI_Abort on MPI_COMM_WORLD: mpirun
// then kills every rank). Without MPI it just exits.
[[noreturn]] void abort_job(const std::exception& error, int exit_code = 1);
[[noreturn]] void abort_job(const std::string& message, int exit_code = 1);

// Collectives on this rank that timed out and have not completed since. While it is non-zero this rank's MPI
// state is out of step with its peers, so MpiRuntime aborts rather than finalizes. Process groups maintain it.
int stuck_collectives();
void add_stuck_collectives(int delta);

}  // namespace lamina::distributed
