#pragma once
// The signature of a collective call: what the ranks compare before running it, so that ranks calling different
// collectives (or the same one with different sizes) get an error naming both instead of a hang or garbage.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <mpi.h>

namespace lamina::distributed {

enum class CollectiveKind : std::int64_t { Allreduce, Broadcast, Allgather, ReduceScatter, Barrier, AllocateSymmetric };

// Every field is an int64 so that one MPI_Allreduce carries them all.
struct Signature {
  std::int64_t sequence = 0;
  CollectiveKind kind = CollectiveKind::Barrier;
  std::int64_t reduce_op = -1;  // a ReduceOp, or -1
  std::int64_t bytes = 0;
  std::int64_t dtype = -1;  // a DType, or -1
  std::int64_t root = -1;

  static constexpr int kFields = 6;
  std::array<std::int64_t, kFields> fields() const {
    return {sequence, static_cast<std::int64_t>(kind), reduce_op, bytes, dtype, root};
  }
  static Signature from_fields(const std::int64_t* f) {
    return {f[0], static_cast<CollectiveKind>(f[1]), f[2], f[3], f[4], f[5]};
  }
  bool operator==(const Signature& other) const { return fields() == other.fields(); }
  bool operator<(const Signature& other) const { return fields() < other.fields(); }
};

// "allreduce(sum, 16 bytes of float32, sequence 3)"
std::string signature_str(const Signature& s);

// "" when every rank's signature (signatures[r] is rank r's) is the same; otherwise the message that names the ranks
// and what each called.
std::string describe_mismatch(const std::vector<Signature>& signatures);

// Collective over `comm`: compares every rank's signature with one MPI_Allreduce(MAX) of [fields, -fields] (the
// maximum and minimum of each field agree on all ranks exactly when all signatures match). On a mismatch the ranks
// gather the signatures and every rank returns the same message naming the ranks and what each called; on a match
// it returns "". MPI errors throw CollectiveError. A zero `timeout` blocks (for a caller that bounds the wait
// itself); otherwise a peer that does not join within `timeout` is a CollectiveError, and `comm` keeps a request
// that never completes (counted in stuck_collectives()).
//
// This exchange is where a rank waits for late peers. It polls MPI_Test, calling `between_polls` between two polls
// (by default: back to back for 20 µs, then a 20 µs sleep each time), so that the caller decides how the waiting
// rank shares its core: a rank that spins while it waits takes the time slices a late peer needs when they share a
// core (more ranks than cores, or a machine busy with other work), and from the computation running beside it on
// its own core (MpiProcessGroup's pacing: see its source).
std::string compare_signatures(MPI_Comm comm, const Signature& mine,
                               std::chrono::milliseconds timeout = std::chrono::milliseconds::zero(),
                               const std::function<void()>& between_polls = {});

// Throws CollectiveError naming `call` and MPI's message when rc is not MPI_SUCCESS (the communicator must use
// MPI_ERRORS_RETURN for errors to come back at all).
void check_mpi(int rc, const char* call);

}  // namespace lamina::distributed
