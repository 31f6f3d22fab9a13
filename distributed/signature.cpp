#include <lamina/distributed/signature.h>

#include <map>
#include <thread>
#include <vector>

#include <lamina/core/dtype.h>
#include <lamina/distributed/environment.h>
#include <lamina/distributed/process_group.h>

namespace lamina::distributed {
namespace {

constexpr std::chrono::microseconds kSpinBeforeSleep{20};
constexpr std::chrono::microseconds kPollInterval{20};

}  // namespace

std::string signature_str(const Signature& s) {
  static const char* names[] = {"allreduce", "broadcast", "allgather", "reduce_scatter", "barrier", "allocate_symmetric"};
  const auto kind = static_cast<std::size_t>(s.kind);
  std::string out = kind < std::size(names) ? names[kind] : "unknown collective " + std::to_string(kind);
  out += "(";
  if (s.kind == CollectiveKind::Allreduce || s.kind == CollectiveKind::ReduceScatter)
    out += reduce_op_name(static_cast<ReduceOp>(s.reduce_op)) + ", ";
  if (s.kind == CollectiveKind::Broadcast) out += "root " + std::to_string(s.root) + ", ";
  if (s.kind != CollectiveKind::Barrier)
    out += std::to_string(s.bytes) + " bytes of " + dtype_name(static_cast<DType>(s.dtype)) + ", ";
  return out + "sequence " + std::to_string(s.sequence) + ")";
}

void check_mpi(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  throw CollectiveError(std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

std::string compare_signatures(MPI_Comm comm, const Signature& mine, std::chrono::milliseconds timeout,
                               const std::function<void()>& between_polls) {
  constexpr int n = Signature::kFields;
  const auto fields = mine.fields();
  std::array<std::int64_t, 2 * n> extremes;
  for (int i = 0; i < n; ++i) {
    extremes[i] = fields[i];
    extremes[n + i] = -fields[i];
  }
  MPI_Request request;
  check_mpi(MPI_Iallreduce(MPI_IN_PLACE, extremes.data(), 2 * n, MPI_INT64_T, MPI_MAX, comm, &request), "MPI_Iallreduce");
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = timeout == std::chrono::milliseconds::zero() ? Clock::time_point::max() : start + timeout;
  for (int done = 0; !done;) {
    check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) break;
    const auto now = Clock::now();
    if (now > deadline) {
      add_stuck_collectives(1);
      throw CollectiveError("the signature check of " + signature_str(mine) + " did not complete within " +
                            std::to_string(timeout.count()) + " ms: a peer rank has not reached it, or skipped it");
    }
    if (between_polls)
      between_polls();
    else if (now - start > kSpinBeforeSleep)
      std::this_thread::sleep_for(kPollInterval);
  }
  bool same = true;
  for (int i = 0; i < n; ++i) same = same && extremes[i] == -extremes[n + i];
  if (same) return "";

  int size = 0;
  MPI_Comm_size(comm, &size);
  std::vector<std::int64_t> all(static_cast<std::size_t>(n) * static_cast<std::size_t>(size));
  check_mpi(MPI_Allgather(fields.data(), n, MPI_INT64_T, all.data(), n, MPI_INT64_T, comm), "MPI_Allgather");
  std::vector<Signature> signatures;
  for (int r = 0; r < size; ++r) signatures.push_back(Signature::from_fields(&all[static_cast<std::size_t>(r * n)]));
  return describe_mismatch(signatures);
}

std::string describe_mismatch(const std::vector<Signature>& signatures) {
  std::map<Signature, std::vector<int>> ranks_by_signature;
  for (std::size_t r = 0; r < signatures.size(); ++r) ranks_by_signature[signatures[r]].push_back(static_cast<int>(r));
  if (ranks_by_signature.size() <= 1) return "";
  std::string message = "the ranks called different collectives:";
  for (const auto& [signature, ranks] : ranks_by_signature) {
    message += ranks.size() == 1 ? " rank" : " ranks";
    for (std::size_t i = 0; i < ranks.size(); ++i) {
      message += i == 0 ? ' ' : ',';
      message += std::to_string(ranks[i]);
    }
    message += " called " + signature_str(signature) + ";";
  }
  message.back() = '.';
  return message + " No data was exchanged";
}

}  // namespace lamina::distributed
