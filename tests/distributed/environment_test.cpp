#include <mpi.h>

#include <functional>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include <lamina/distributed/environment.h>
#include <lamina/distributed/mpi_process_group.h>

using namespace lamina::distributed;

TEST(Environment, RanksComeFromTheWorldCommunicator) {
  const Environment& env = environment();
  int rank = -1, size = -1, level = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Query_thread(&level);
  EXPECT_EQ(env.world_rank, rank);
  EXPECT_EQ(env.world_size, size);
  EXPECT_EQ(level, MPI_THREAD_MULTIPLE);
  EXPECT_FALSE(env.hostname.empty());
  MpiProcessGroup pg;
  EXPECT_EQ(pg.rank(), rank);
  EXPECT_EQ(pg.size(), size);
  EXPECT_EQ(pg.backend_name(), "mpi");
}

TEST(Environment, LocalRanksNumberTheRanksOfEachHost) {
  const Environment& env = environment();
  // Gather (host hash, local rank, local size) from every rank: on each host the local ranks must be 0..k-1
  // with k the number of ranks on that host.
  const long long mine[3] = {static_cast<long long>(std::hash<std::string>{}(env.hostname) & 0x7fffffffffffLL),
                             env.local_rank, env.local_size};
  std::vector<long long> all(static_cast<std::size_t>(3 * env.world_size));
  MPI_Allgather(mine, 3, MPI_LONG_LONG, all.data(), 3, MPI_LONG_LONG, MPI_COMM_WORLD);
  std::map<long long, std::set<long long>> local_ranks;
  std::map<long long, long long> local_size;
  for (int r = 0; r < env.world_size; ++r) {
    local_ranks[all[3 * r]].insert(all[3 * r + 1]);
    local_size[all[3 * r]] = all[3 * r + 2];
  }
  for (const auto& [host, ranks] : local_ranks) {
    EXPECT_EQ(static_cast<long long>(ranks.size()), local_size[host]);
    EXPECT_EQ(*ranks.begin(), 0);
    EXPECT_EQ(*ranks.rbegin(), local_size[host] - 1);
  }
}

TEST(Environment, InitializingAgainIsHarmless) {
  ensure_mpi_initialized();
  ensure_mpi_initialized();
  EXPECT_EQ(stuck_collectives(), 0);
}
