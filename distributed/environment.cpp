#include <lamina/distributed/environment.h>

#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>

namespace lamina::distributed {
namespace {

std::once_flag g_environment_once;
Environment g_environment;
std::atomic<int> g_stuck_collectives{0};
std::terminate_handler g_previous_terminate = nullptr;

const char* thread_level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE: return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED: return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED: return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE: return "MPI_THREAD_MULTIPLE";
  }
  return "an unknown thread level";
}

bool mpi_active() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

void finalize_once() {
  if (mpi_active()) MPI_Finalize();
}

void discover_environment() {
  MPI_Comm_rank(MPI_COMM_WORLD, &g_environment.world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_environment.world_size);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_environment.world_rank, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &g_environment.local_rank);
  MPI_Comm_size(local, &g_environment.local_size);
  MPI_Comm_free(&local);
  char name[MPI_MAX_PROCESSOR_NAME] = {};  // all of it is sent to the other ranks
  int length = 0;
  MPI_Get_processor_name(name, &length);
  g_environment.hostname.assign(name, static_cast<std::size_t>(length));
  std::vector<char> all(static_cast<std::size_t>(g_environment.world_size) * MPI_MAX_PROCESSOR_NAME);
  MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, MPI_COMM_WORLD);
  for (int r = 0; r < g_environment.world_size; ++r) {
    const char* host = all.data() + static_cast<std::size_t>(r) * MPI_MAX_PROCESSOR_NAME;
    g_environment.hostnames.emplace_back(host, strnlen(host, MPI_MAX_PROCESSOR_NAME));
  }
}

// Hosts in the order of their first rank, each with its ranks in order.
std::vector<std::pair<std::string, std::vector<int>>> ranks_by_host(const std::vector<int>& ranks,
                                                                     const std::vector<std::string>& hostnames) {
  std::vector<std::pair<std::string, std::vector<int>>> hosts;
  std::map<std::string, std::size_t> index;
  std::vector<int> sorted = ranks;
  std::sort(sorted.begin(), sorted.end());
  for (int r : sorted) {
    const std::string host = r >= 0 && r < static_cast<int>(hostnames.size()) ? hostnames[static_cast<std::size_t>(r)]
                                                                               : "an unknown host";
    auto [it, added] = index.try_emplace(host, hosts.size());
    if (added) hosts.push_back({host, {}});
    hosts[it->second].second.push_back(r);
  }
  return hosts;
}

std::string ranks_word(const std::vector<int>& ranks) {
  return (ranks.size() == 1 ? "rank " : "ranks ") + rank_ranges(ranks);
}

// A process that leaves MPI to the process groups gets it finalized at exit; under MpiRuntime its destructor
// finalizes, and exit() mid-job must not (MPI_Finalize would wait for peers blocked in a collective).
void initialize(int* argc, char*** argv, bool finalize_at_exit) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (finalized) throw std::runtime_error("lamina: MPI has already been finalized; it cannot be used again");
  int provided = 0;
  if (!initialized) {
    MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided);
    if (finalize_at_exit) std::atexit(finalize_once);
  } else {
    MPI_Query_thread(&provided);
  }
  // The process groups run collectives on their own thread while the caller may use MPI too.
  if (provided < MPI_THREAD_MULTIPLE)
    throw std::runtime_error(std::string("lamina: MPI provides ") + thread_level_name(provided) +
                             "; lamina's process groups need MPI_THREAD_MULTIPLE (initialize MPI with "
                             "MPI_Init_thread(..., MPI_THREAD_MULTIPLE, ...), or build Open MPI with thread support)");
  std::call_once(g_environment_once, discover_environment);
}

[[noreturn]] void report_and_abort(const std::string& message, int exit_code) {
  std::string where = "a process without MPI";
  if (mpi_active()) {
    int rank = 0, size = 0, length = 0;
    char host[MPI_MAX_PROCESSOR_NAME];
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Get_processor_name(host, &length);
    where = "rank " + std::to_string(rank) + " of " + std::to_string(size) + " on " + std::string(host, length);
  }
  std::fprintf(stderr, "lamina: %s: %s\nlamina: aborting the whole job so that no rank waits for this one\n",
               where.c_str(), message.c_str());
  std::fflush(stderr);
  if (mpi_active()) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

void terminate_with_abort() {
  std::string message = "terminate called";
  if (std::exception_ptr error = std::current_exception()) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      message = std::string("uncaught exception: ") + e.what();
    } catch (...) {
      message = "uncaught exception of a type not derived from std::exception";
    }
  }
  report_and_abort(message, 1);
}

}  // namespace

void ensure_mpi_initialized() { initialize(nullptr, nullptr, true); }

const Environment& environment() {
  ensure_mpi_initialized();
  return g_environment;
}

MpiRuntime::MpiRuntime(int* argc, char*** argv) : uncaught_at_start_(std::uncaught_exceptions()) {
  initialize(argc, argv, false);
  g_previous_terminate = std::set_terminate(terminate_with_abort);
}

MpiRuntime::~MpiRuntime() {
  // Unwinding past main's MPI scope, or a collective stuck on this rank: the peers may be blocked in a collective
  // this rank will never join, and MPI_Finalize would wait for them forever.
  if (std::uncaught_exceptions() > uncaught_at_start_)
    report_and_abort("an exception is propagating out of the scope of MpiRuntime", 1);
  if (stuck_collectives() > 0)
    report_and_abort(std::to_string(stuck_collectives()) + " collective(s) on this rank timed out and never completed",
                     1);
  std::set_terminate(g_previous_terminate);
  finalize_once();
}

void abort_job(const std::exception& error, int exit_code) { report_and_abort(error.what(), exit_code); }
void abort_job(const std::string& message, int exit_code) { report_and_abort(message, exit_code); }

std::string rank_ranges(std::vector<int> ranks) {
  std::sort(ranks.begin(), ranks.end());
  std::string out;
  for (std::size_t i = 0; i < ranks.size();) {
    std::size_t j = i;
    while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
    if (!out.empty()) out += ",";
    out += std::to_string(ranks[i]);
    if (j > i) {
      out += '-';
      out += std::to_string(ranks[j]);
    }
    i = j + 1;
  }
  return out;
}

std::string describe_placement(const std::vector<std::string>& hostnames) {
  constexpr std::size_t kShown = 8;
  std::vector<int> all(hostnames.size());
  for (std::size_t r = 0; r < all.size(); ++r) all[r] = static_cast<int>(r);
  const auto hosts = ranks_by_host(all, hostnames);
  std::string out = std::to_string(hosts.size()) + (hosts.size() == 1 ? " host: " : " hosts: ");
  for (std::size_t h = 0; h < hosts.size() && h < kShown; ++h)
    out += (h ? ", " : "") + hosts[h].first + " (" + ranks_word(hosts[h].second) + ")";
  if (hosts.size() > kShown) out += " ... and " + std::to_string(hosts.size() - kShown) + " more hosts";
  return out;
}

std::string describe_ranks(const std::vector<int>& ranks, const std::vector<std::string>& hostnames) {
  std::string out;
  for (const auto& [host, on_host] : ranks_by_host(ranks, hostnames))
    out += (out.empty() ? "" : ", ") + ranks_word(on_host) + " on " + host;
  return out;
}

int stuck_collectives() { return g_stuck_collectives.load(); }
void add_stuck_collectives(int delta) { g_stuck_collectives += delta; }

}  // namespace lamina::distributed
