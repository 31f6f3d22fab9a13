// A small job in which the last rank fails mid-way; ctest runs it under mpirun and checks that the whole job ends
// within seconds with a message naming the failure (the surviving ranks would otherwise wait minutes). Modes:
//   throw     the last rank throws; main catches and calls abort_job
//   uncaught  the last rank throws and nothing catches (MpiRuntime's terminate handler aborts the job)
//   unwind    the exception leaves main's MpiRuntime scope (its destructor aborts instead of finalizing)
//   exit      the last rank calls exit(3) without finalizing (mpirun ends the job)
//   timeout   the last rank never joins a collective; the others' wait() throws after 500 ms and aborts the job
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include <lamina/distributed/environment.h>
#include <lamina/distributed/mpi_process_group.h>
#include <lamina/lamina.h>

using namespace lamina;
using namespace lamina::distributed;
using namespace std::chrono_literals;

namespace {

void run(const std::string& mode) {
  ProcessGroupOptions options;
  options.timeout = mode == "timeout" ? std::chrono::milliseconds(500) : std::chrono::milliseconds(std::chrono::minutes(5));
  MpiProcessGroup pg(options);
  const bool failing = pg.rank() == pg.size() - 1;
  Tensor t = ones({1024});
  for (int step = 0; step < 3; ++step) pg.allreduce(t)->wait();
  if (failing) {
    if (mode == "exit") std::exit(3);
    if (mode == "timeout") {
      std::this_thread::sleep_for(60s);  // never joins the next collective; the job must be killed long before
      return;
    }
    throw std::runtime_error("injected failure on rank " + std::to_string(pg.rank()) + " (" + mode + ")");
  }
  // The survivors wait in a collective the failing rank never joins.
  pg.allreduce(t)->wait();
  std::printf("rank %d: the collective completed without the failing rank\n", pg.rank());
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "throw";
  if (mode == "unwind") {
    try {
      MpiRuntime mpi(&argc, &argv);
      run(mode);
    } catch (const std::exception& e) {
      std::printf("unreachable: the job should have been aborted (%s)\n", e.what());
    }
    return 0;
  }
  MpiRuntime mpi(&argc, &argv);
  if (mode == "uncaught") {
    run(mode);
    return 0;
  }
  try {
    run(mode);
  } catch (const std::exception& e) {
    abort_job(e);
  }
  return 0;
}
