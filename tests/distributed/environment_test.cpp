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

TEST(Environment, EveryRankKnowsEveryRanksHostname) {
  const Environment& env = environment();
  ASSERT_EQ(static_cast<int>(env.hostnames.size()), env.world_size);
  EXPECT_EQ(env.hostnames[static_cast<std::size_t>(env.world_rank)], env.hostname);
  // The ranks on this host are exactly those with this hostname.
  int here = 0;
  for (const std::string& host : env.hostnames) here += host == env.hostname;
  EXPECT_EQ(here, env.local_size);
}

TEST(Environment, RankRangesAreSortedAndCompact) {
  EXPECT_EQ(rank_ranges({}), "");
  EXPECT_EQ(rank_ranges({3}), "3");
  EXPECT_EQ(rank_ranges({5, 0, 2, 1}), "0-2,5");
  EXPECT_EQ(rank_ranges({7, 8, 10, 11, 12}), "7-8,10-12");
}

TEST(Environment, PlacementListsHostsInRankOrder) {
  EXPECT_EQ(describe_placement({"a"}), "1 host: a (rank 0)");
  EXPECT_EQ(describe_placement({"a", "a", "b", "b"}), "2 hosts: a (ranks 0-1), b (ranks 2-3)");
  // Round-robin placement, hosts named in the order of their first rank.
  EXPECT_EQ(describe_placement({"n2", "n1", "n2", "n1"}), "2 hosts: n2 (ranks 0,2), n1 (ranks 1,3)");
  const std::vector<std::string> many{"h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9"};
  EXPECT_EQ(describe_placement(many).substr(0, 25), "10 hosts: h0 (rank 0), h1");
  EXPECT_NE(describe_placement(many).find("h7 (rank 7) ... and 2 more hosts"), std::string::npos) << describe_placement(many);
}

TEST(Environment, DescribeRanksNamesTheirHosts) {
  const std::vector<std::string> hosts{"a", "a", "b", "b", "c"};
  EXPECT_EQ(describe_ranks({3}, hosts), "rank 3 on b");
  EXPECT_EQ(describe_ranks({4, 2, 3}, hosts), "ranks 2-3 on b, rank 4 on c");
  EXPECT_EQ(describe_ranks({0, 4}, hosts), "rank 0 on a, rank 4 on c");
  EXPECT_EQ(describe_ranks({9}, hosts), "rank 9 on an unknown host");
}

TEST(Environment, InitializingAgainIsHarmless) {
  ensure_mpi_initialized();
  ensure_mpi_initialized();
  EXPECT_EQ(stuck_collectives(), 0);
}
