#include <gtest/gtest.h>

#include <lamina/distributed/process_group.h>
#include <lamina/distributed/signature.h>
#include <lamina/core/dtype.h>

using namespace lamina;
using namespace lamina::distributed;

TEST(Signature, DescribesEachCollective) {
  EXPECT_EQ(signature_str({.sequence = 3, .kind = CollectiveKind::Allreduce, .reduce_op = static_cast<std::int64_t>(ReduceOp::Average),
                           .bytes = 16, .dtype = static_cast<std::int64_t>(DType::Float64)}),
            "allreduce(average, 16 bytes of float64, sequence 3)");
  EXPECT_EQ(signature_str({.sequence = 0, .kind = CollectiveKind::Broadcast, .bytes = 8,
                           .dtype = static_cast<std::int64_t>(DType::Int64), .root = 2}),
            "broadcast(root 2, 8 bytes of int64, sequence 0)");
  EXPECT_EQ(signature_str({.sequence = 7, .kind = CollectiveKind::Barrier}), "barrier(sequence 7)");
  EXPECT_EQ(signature_str({.sequence = 1, .kind = CollectiveKind::ReduceScatter, .reduce_op = static_cast<std::int64_t>(ReduceOp::Max),
                           .bytes = 40, .dtype = static_cast<std::int64_t>(DType::Float32)}),
            "reduce_scatter(max, 40 bytes of float32, sequence 1)");
}

TEST(Signature, MatchingSignaturesCompareEqualOnEveryRank) {
  const Signature s{.sequence = 5, .kind = CollectiveKind::Allgather, .bytes = 12, .dtype = 0};
  EXPECT_EQ(compare_signatures(MPI_COMM_WORLD, s), "");
  EXPECT_EQ(compare_signatures(MPI_COMM_WORLD, s, std::chrono::milliseconds(5000)), "");
}

TEST(Signature, AMismatchInAnyFieldIsReportedWithEveryRank) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  // The last rank differs in the root only.
  const Signature s{.sequence = 2, .kind = CollectiveKind::Broadcast, .bytes = 4, .dtype = 0, .root = rank == size - 1 ? 1 : 0};
  const std::string message = compare_signatures(MPI_COMM_WORLD, s);
  EXPECT_NE(message.find("rank " + std::to_string(size - 1) + " called broadcast(root 1, 4 bytes of float32, sequence 2)"),
            std::string::npos) << message;
  EXPECT_NE(message.find("called broadcast(root 0, 4 bytes of float32, sequence 2)"), std::string::npos) << message;
}
