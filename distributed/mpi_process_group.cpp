#include <lamina/distributed/mpi_process_group.h>

#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <lamina/core/checks.h>
#include <lamina/distributed/environment.h>
#include <lamina/distributed/shared_memory_channel.h>
#include <lamina/distributed/signature.h>

namespace lamina::distributed {
namespace {

MPI_Datatype mpi_type(DType dtype) {
  switch (dtype) {
    case DType::Float32: return MPI_FLOAT;
    case DType::Float64: return MPI_DOUBLE;
    case DType::Int64: return MPI_INT64_T;
  }
  throw std::logic_error("MpiProcessGroup: unknown dtype");
}

// Average is a sum on the wire, divided afterwards.
MPI_Op mpi_op(ReduceOp op) { return op == ReduceOp::Max ? MPI_MAX : MPI_SUM; }

// In place x /= divisor; integers divide with truncation, like C++.
void divide(void* data, std::int64_t n, DType dtype, int divisor) {
  dispatch(dtype, [&]<typename T>() {
    T* x = static_cast<T*>(data);
    const T d = static_cast<T>(divisor);
    for (std::int64_t i = 0; i < n; ++i) x[i] /= d;
  });
}

// dst op= src, elementwise (Average sums: it is divided at the end).
void reduce_into(void* dst, const void* src, std::int64_t n, DType dtype, ReduceOp op) {
  dispatch(dtype, [&]<typename T>() {
    T* d = static_cast<T*>(dst);
    const T* x = static_cast<const T*>(src);
    if (op == ReduceOp::Max)
      for (std::int64_t i = 0; i < n; ++i) d[i] = std::max(d[i], x[i]);
    else
      for (std::int64_t i = 0; i < n; ++i) d[i] += x[i];
  });
}

void check_tensor(const Tensor& t, const char* op, const char* what) {
  check_defined(t, op, what);
  if (!t.device().is_cpu())
    throw std::invalid_argument(std::string(op) + ": " + what + " must be a CPU tensor, got " + describe(t) +
                                " (NcclProcessGroup handles CUDA tensors)");
  if (!t.is_contiguous())
    throw std::invalid_argument(std::string(op) + ": " + what + " must be contiguous, got a strided view " +
                                describe(t));
}

std::int64_t nbytes(const Tensor& t) { return t.numel() * static_cast<std::int64_t>(dtype_size(t.dtype())); }

char* bytes_of(const Tensor& t) { return static_cast<char*>(t.raw_data()); }

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kYieldBeforeSleep{2};
constexpr std::chrono::microseconds kFirstNap{20};
constexpr std::chrono::microseconds kLongestNap{1000};
constexpr std::chrono::microseconds kSpinWhileWaited{1000};
constexpr std::chrono::microseconds kYieldWhileComputing{2000};
constexpr std::chrono::microseconds kSpinBeforeYield{2};

class MpiWork : public Work {
 public:
  MpiWork(Signature signature, int rank, int size, std::chrono::milliseconds timeout,
          std::shared_ptr<std::atomic<int>> group_stuck, std::weak_ptr<MpiProcessGroup::State> group)
      : signature_(signature), rank_(rank), size_(size), timeout_(timeout), group_stuck_(std::move(group_stuck)),
        group_(std::move(group)) {}

  void wait() override;  // below the group's State, which it asks who is missing on a timeout

  bool is_completed() override { return done_.load(); }

  Clock::time_point completed_at() const override { return done_.load() ? completed_at_ : Clock::time_point{}; }

  void start() { started_ = true; }

  void complete(std::string error) {
    {
      std::lock_guard lock(mutex_);
      error_ = std::move(error);
      completed_at_ = Clock::now();
      done_ = true;
      if (stuck_) {
        add_stuck_collectives(-1);
        --*group_stuck_;
      }
    }
    cv_.notify_all();
  }

 private:
  // "MpiProcessGroup rank 0 of 2: allreduce(sum, 16 bytes of float32, sequence 3)": built only for an error.
  std::string what() const {
    return "MpiProcessGroup rank " + std::to_string(rank_) + " of " + std::to_string(size_) + ": " +
           signature_str(signature_);
  }

  const Signature signature_;
  const int rank_;
  const int size_;
  const std::chrono::milliseconds timeout_;
  std::shared_ptr<std::atomic<int>> group_stuck_;
  std::weak_ptr<MpiProcessGroup::State> group_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<bool> started_{false};
  std::atomic<bool> done_{false};
  Clock::time_point completed_at_;  // written before done_ is set
  bool stuck_ = false;  // counted in stuck_collectives()
  std::string error_;
};

}  // namespace

struct MpiProcessGroup::State : std::enable_shared_from_this<MpiProcessGroup::State> {
  struct Task {
    Signature signature;
    std::shared_ptr<MpiWork> work;
    std::function<void(State&)> run;
  };

  MPI_Comm comm = MPI_COMM_NULL;
  // Set when the group's two ranks share this node (and ProcessGroupOptions::shared_memory): signatures and the
  // all-reduces it is faster for go through it, everything else through `comm`.
  std::unique_ptr<SharedMemoryChannel> channel;
  // A second duplicate, used only to find out which ranks are missing when a collective on `comm` times out.
  MPI_Comm monitor = MPI_COMM_NULL;
  std::vector<std::string> hosts;  // of each rank of the group
  int rank = 0;
  int size = 1;
  ProcessGroupOptions options;
  // Timed-out collectives of this group that have not completed (shared with its Work objects).
  std::shared_ptr<std::atomic<int>> stuck = std::make_shared<std::atomic<int>>(0);

  // Callers blocked in Work::wait() on this group, and what wakes the communication thread for them (pacer()).
  std::atomic<int> waiters{0};
  std::mutex pace_mutex;
  std::condition_variable pace_cv;

  std::mutex mutex;
  std::condition_variable queue_cv;
  std::deque<Task> queue;
  std::optional<Signature> running;  // the collective the thread is in
  std::uint64_t next_sequence = 0;
  bool stopping = false;
  bool finished = false;
  std::condition_variable finished_cv;
  std::thread thread;

  // Used by the communication thread only: packs chunks for allgather and reduce_scatter. Kept across calls so
  // that its pages are faulted in once.
  std::vector<char> staging;

  // The last timeout's diagnosis: every Work queued behind one stuck collective reports it, found out once.
  std::mutex diagnosis_mutex;
  std::int64_t diagnosed_sequence = -1;
  std::string diagnosis;
  std::deque<std::int64_t> sent_reports;  // send buffers, which must outlive their (freed) requests

  std::shared_ptr<Work> enqueue(Signature signature, std::function<void(State&)> run) {
    std::shared_ptr<MpiWork> work;
    {
      std::lock_guard lock(mutex);
      signature.sequence = static_cast<std::int64_t>(next_sequence++);
      work = std::make_shared<MpiWork>(signature, rank, size, options.timeout, stuck, weak_from_this());
      queue.push_back({signature, work, std::move(run)});
    }
    queue_cv.notify_one();
    return work;
  }

  void loop() {
    for (;;) {
      Task task;
      {
        std::unique_lock lock(mutex);
        queue_cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) break;
        task = std::move(queue.front());
        queue.pop_front();
        running = task.signature;
      }
      task.work->start();
      std::string error;
      try {
        if (options.check_signatures)
          error = channel ? channel->exchange_signatures(task.signature, [this] { return pacer(); })
                          : compare_signatures(comm, task.signature, {}, pacer());
        if (error.empty()) task.run(*this);
      } catch (const std::exception& e) {
        error = e.what();
      }
      {
        std::lock_guard lock(mutex);
        running.reset();
      }
      task.work->complete(std::move(error));
    }
    {
      std::lock_guard lock(mutex);
      finished = true;
    }
    finished_cv.notify_all();
  }

  // How the communication thread waits for late peers, between two polls. While nobody waits for the collective
  // (it was started early, to overlap the caller's computation, which runs on the same core: mpirun binds a rank
  // and its threads to one), for up to 2 ms: after 2 µs of polling back to back (for peers that arrive together:
  // a 4-byte all-reduce takes 4.7 µs so, 7.4 µs yielding at once), yield the core after each poll, so that the
  // computation keeps it and this thread polls again whenever the scheduler comes back to it. (It used to poll
  // back to back for 20 µs, then sleep ever longer naps. In a microbenchmark of DDP's last two buckets on ranks up
  // to 200 µs apart — launch a 10 KiB all-reduce, copy 784 KiB, launch a 784 KiB one, wait — an iteration took
  // 535-605 µs that way, 478-512 µs yielding.) Once a caller waits (it yields the core to this thread), there is
  // nothing left to overlap: poll back to back for up to 1 ms. Past those: sleep, 20 µs, then twice as long each
  // time up to 1 ms — peers later than that are waiting for a core themselves, and a spinning rank would take it
  // from them.
  std::function<void()> pacer() {  // one per wait: its clock starts when it is made
    return [this, nap = kFirstNap, start = Clock::now(), waited_since = Clock::time_point{}]() mutable {
      const auto now = Clock::now();
      if (waiters.load() > 0) {
        if (waited_since == Clock::time_point{}) waited_since = now;
        if (now - waited_since < kSpinWhileWaited) return;
      } else if (now - start < kYieldWhileComputing) {
        if (now - start >= kSpinBeforeYield) std::this_thread::yield();
        return;
      }
      std::unique_lock lock(pace_mutex);
      // A caller that starts waiting cuts the sleep short.
      pace_cv.wait_for(lock, nap, [&] { return waited_since == Clock::time_point{} && waiters.load() > 0; });
      nap = std::min(2 * nap, kLongestNap);
    };
  }

  // Work::wait() brackets its waiting with these.
  void begin_wait() {
    {
      std::lock_guard lock(pace_mutex);
      ++waiters;
    }
    pace_cv.notify_all();
  }
  void end_wait() { --waiters; }

  // Why `waited` (a collective of this group) timed out on this rank: the collective the thread is stuck in, and
  // which ranks never arrived in it. Every rank that times out sends the sequence number it is stuck at to every
  // other rank (on `monitor`, from the caller's thread: the communication thread stays blocked) and listens for
  // theirs for a while; the ranks that do not report are missing. Rank skew is far below the timeout, so
  // listening for min(timeout, 5 s) hears every rank that got stuck in the same collective.
  std::string diagnose(const Signature& waited) {
    Signature stuck;
    {
      std::lock_guard lock(mutex);
      if (!running) return " (it completed after the timeout)";
      stuck = *running;
    }
    std::lock_guard lock(diagnosis_mutex);
    if (diagnosed_sequence != stuck.sequence) {
      diagnosed_sequence = stuck.sequence;
      diagnosis = find_missing_ranks(stuck.sequence, std::min<std::chrono::milliseconds>(options.timeout, std::chrono::seconds(5)));
    }
    if (stuck.sequence == waited.sequence) return "; " + diagnosis;
    return ": it is queued behind " + signature_str(stuck) + ", which is stuck; " + diagnosis;
  }

  std::string find_missing_ranks(std::int64_t sequence, std::chrono::milliseconds listen) {
    const int tag = static_cast<int>(sequence % 32768);  // MPI guarantees tags up to 32767
    sent_reports.push_back(sequence);
    const std::size_t n = static_cast<std::size_t>(size);
    std::vector<std::int64_t> reports(n, -1);
    std::vector<MPI_Request> receives(n, MPI_REQUEST_NULL);
    std::vector<char> heard(n, 0);
    for (int r = 0; r < size; ++r) {
      if (r == rank) continue;
      const std::size_t i = static_cast<std::size_t>(r);
      MPI_Request send = MPI_REQUEST_NULL;
      // A stopped or unreachable peer may never take the report: nobody waits for the send.
      if (MPI_Isend(&sent_reports.back(), 1, MPI_INT64_T, r, tag, monitor, &send) == MPI_SUCCESS && send != MPI_REQUEST_NULL)
        MPI_Request_free(&send);
      if (MPI_Irecv(&reports[i], 1, MPI_INT64_T, r, tag, monitor, &receives[i]) != MPI_SUCCESS) receives[i] = MPI_REQUEST_NULL;
    }
    const auto deadline = std::chrono::steady_clock::now() + listen;
    for (bool pending = true; pending && std::chrono::steady_clock::now() < deadline;) {
      pending = false;
      for (std::size_t i = 0; i < n; ++i) {
        if (receives[i] == MPI_REQUEST_NULL) continue;
        int arrived = 0;
        if (MPI_Test(&receives[i], &arrived, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
          receives[i] = MPI_REQUEST_NULL;  // the transport gave up on this peer
          continue;
        }
        heard[i] = static_cast<char>(arrived);
        pending = pending || !arrived;
      }
      if (pending) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::vector<int> missing, waiting{rank};
    for (int r = 0; r < size; ++r) {
      if (r == rank) continue;
      const std::size_t i = static_cast<std::size_t>(r);
      if (receives[i] != MPI_REQUEST_NULL) {  // still listening: stop, unless the report came in meanwhile
        MPI_Status status;
        MPI_Cancel(&receives[i]);
        MPI_Wait(&receives[i], &status);
        int cancelled = 1;
        MPI_Test_cancelled(&status, &cancelled);
        heard[i] = static_cast<char>(!cancelled);
      }
      (heard[i] ? waiting : missing).push_back(r);
    }
    if (missing.empty())
      return "every rank reports waiting in it, so the transfer itself is stuck (a network, MPI or shared-memory problem)";
    return "missing: " + describe_ranks(missing, hosts) + " (never arrived in it: stopped, slowed down, dead, or " +
           "unreachable from here); waiting: " + describe_ranks(waiting, hosts);
  }

  char* staging_buffer(std::size_t bytes) {
    if (staging.size() < bytes) staging.resize(bytes);
    return staging.data();
  }

  // In-place ring all-reduce of `n` elements at `data`: a reduce-scatter, then an all-gather, each size-1 steps in
  // which every rank sends one of `size` segments to the next rank and receives another from the previous one.
  // Each rank sends and receives 2(size-1)/size of the data, the least any all-reduce can, and a received segment
  // lands in the group's staging buffer, which persists across calls (Open MPI's own algorithms allocate a
  // temporary as large as the message on every call: see kRingMinBytes). Every segment is reduced once, in a fixed
  // order, then copied to every rank, so all ranks end with the same bits. Average is reduced as a sum and each
  // segment divided once, by the rank that completes it, while it is in cache.
  void ring_allreduce(char* data, std::int64_t n, DType dtype, ReduceOp op) {
    const std::int64_t element = static_cast<std::int64_t>(dtype_size(dtype));
    const auto begin = [&](int segment) { return n * segment / size; };
    const auto length = [&](int segment) { return begin(segment + 1) - begin(segment); };
    const auto at = [&](int segment) { return data + begin(segment) * element; };
    const auto bytes = [&](int segment) { return static_cast<int>(length(segment) * element); };
    const int next = (rank + 1) % size, previous = (rank + size - 1) % size;
    char* incoming = staging_buffer(static_cast<std::size_t>((n / size + 1) * element));
    for (int step = 0; step < size - 1; ++step) {
      const int send = ((rank - step) % size + size) % size, receive = (send + size - 1) % size;
      check_mpi(MPI_Sendrecv(at(send), bytes(send), MPI_BYTE, next, 0, incoming, bytes(receive), MPI_BYTE, previous,
                             0, comm, MPI_STATUS_IGNORE),
                "MPI_Sendrecv");
      reduce_into(at(receive), incoming, length(receive), dtype, op);
    }
    const int mine = (rank + 1) % size;  // completed by the last step above
    if (op == ReduceOp::Average) divide(at(mine), length(mine), dtype, size);
    for (int step = 0; step < size - 1; ++step) {
      const int send = ((mine - step) % size + size) % size, receive = (send + size - 1) % size;
      check_mpi(MPI_Sendrecv(at(send), bytes(send), MPI_BYTE, next, 0, at(receive), bytes(receive), MPI_BYTE, previous,
                             0, comm, MPI_STATUS_IGNORE),
                "MPI_Sendrecv");
    }
  }
};

namespace {

void MpiWork::wait() {
  const std::shared_ptr<MpiProcessGroup::State> group = group_.lock();
  if (group) group->begin_wait();
  struct EndWait {
    MpiProcessGroup::State* group;
    ~EndWait() {
      if (group) group->end_wait();
    }
  } end_wait{group.get()};
  // Yield for a while before sleeping: mpirun binds a rank to one core, which the communication thread shares,
  // and a yielding thread resumes as soon as the collective is done, where a sleeping one first needs a futex
  // wake-up and a context switch (worth 2-3% of a 1 MiB all-reduce here).
  for (const auto until = Clock::now() + kYieldBeforeSleep; !done_.load() && Clock::now() < until;)
    std::this_thread::yield();
  {
    std::unique_lock lock(mutex_);
    if (done_.load() || cv_.wait_for(lock, timeout_, [&] { return done_.load(); })) {
      if (!error_.empty()) throw CollectiveError(what() + " failed: " + error_);
      return;
    }
    if (!stuck_) {
      stuck_ = true;
      add_stuck_collectives(1);
      ++*group_stuck_;
    }
  }
  // Without the lock: finding out who is missing takes a while, and complete() must not wait for it.
  std::string why = " (the process group is gone)";
  if (group) why = group->diagnose(signature_);
  throw CollectiveError(what() + " did not complete within " + std::to_string(timeout_.count()) + " ms" + why);
}

}  // namespace

MpiProcessGroup::MpiProcessGroup(ProcessGroupOptions options, MPI_Comm comm)
    : options_(options), state_(std::make_shared<State>()) {
  ensure_mpi_initialized();
  MPI_Comm_dup(comm, &state_->comm);
  // Errors come back as return codes, which the collectives turn into a CollectiveError for the caller.
  MPI_Comm_set_errhandler(state_->comm, MPI_ERRORS_RETURN);
  MPI_Comm_dup(comm, &state_->monitor);
  MPI_Comm_set_errhandler(state_->monitor, MPI_ERRORS_RETURN);
  MPI_Comm_rank(state_->comm, &rank_);
  MPI_Comm_size(state_->comm, &size_);
  // The hostname of each rank of the group, for the messages that name ranks.
  MPI_Group group, world;
  MPI_Comm_group(state_->comm, &group);
  MPI_Comm_group(MPI_COMM_WORLD, &world);
  std::vector<int> ranks(static_cast<std::size_t>(size_)), world_ranks(ranks.size());
  for (int r = 0; r < size_; ++r) ranks[static_cast<std::size_t>(r)] = r;
  MPI_Group_translate_ranks(group, size_, ranks.data(), world, world_ranks.data());
  MPI_Group_free(&group);
  MPI_Group_free(&world);
  for (int w : world_ranks) state_->hosts.push_back(environment().hostnames.at(static_cast<std::size_t>(w)));
  state_->rank = rank_;
  state_->size = size_;
  // Two ranks only: a sum of two terms has the same bits in either order, so a job ends with the same parameters
  // whether its ranks share a node or not. With more, the channel adds in another order than MPI's algorithms do.
  if (options_.shared_memory && size_ == 2) state_->channel = SharedMemoryChannel::create(state_->comm);
  state_->options = options_;
  // The thread owns a reference to the state, so that a thread stuck in MPI can be left behind safely.
  state_->thread = std::thread([state = state_] {
    // The thread sleeps between polls while it waits for late peers (compare_signatures): with the kernel's
    // default timer slack a 20 µs sleep lasts 70 µs, which a step then waits for.
    prctl(PR_SET_TIMERSLACK, 1000UL);
    state->loop();
  });
}

MpiProcessGroup::~MpiProcessGroup() {
  std::unique_lock lock(state_->mutex);
  state_->stopping = true;
  state_->queue_cv.notify_one();
  // With a collective timed out the thread may never come back: leave it (and the communicator) behind.
  const bool drained = *state_->stuck == 0 &&
                       state_->finished_cv.wait_for(lock, options_.timeout, [&] { return state_->finished; });
  lock.unlock();
  if (!drained) {
    state_->thread.detach();
    return;
  }
  state_->thread.join();
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) {
    MPI_Comm_free(&state_->comm);
    MPI_Comm_free(&state_->monitor);
  }
}

bool MpiProcessGroup::uses_shared_memory() const { return state_->channel != nullptr; }

bool MpiProcessGroup::through_shared_memory(std::int64_t bytes) {
  return bytes < static_cast<std::int64_t>(kSharedMemoryBelowBytes) || bytes >= static_cast<std::int64_t>(kSharedMemoryFromBytes);
}

std::uint64_t MpiProcessGroup::next_sequence_number() const {
  std::lock_guard lock(state_->mutex);
  return state_->next_sequence;
}

std::shared_ptr<Work> MpiProcessGroup::allreduce(Tensor& tensor, ReduceOp op) {
  check_tensor(tensor, "MpiProcessGroup::allreduce", "tensor");
  const Signature signature{.kind = CollectiveKind::Allreduce, .reduce_op = static_cast<std::int64_t>(op),
                            .bytes = nbytes(tensor), .dtype = static_cast<std::int64_t>(tensor.dtype())};
  return state_->enqueue(signature, [t = tensor, op](State& s) {
    if (s.channel) {
      const auto pacing = [&s] { return s.pacer(); };
      if (through_shared_memory(nbytes(t))) {
        s.channel->allreduce(bytes_of(t), t.numel(), t.dtype(), op, pacing);
        return;
      }
      if (s.channel->allreduce_in_place(bytes_of(t), t.numel(), t.dtype(), op, pacing)) return;
    }
    const DType dtype = t.dtype();
    const std::int64_t element = static_cast<std::int64_t>(dtype_size(dtype));
    const std::int64_t chunk = static_cast<std::int64_t>(kChunkBytes) / element;
    char* data = bytes_of(t);
    for (std::int64_t begin = 0; begin < t.numel(); begin += chunk) {
      const std::int64_t n = std::min(chunk, t.numel() - begin);
      if (n * element >= static_cast<std::int64_t>(kRingMinBytes) && s.size > 1) {
        s.ring_allreduce(data + begin * element, n, dtype, op);
        continue;
      }
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, data + begin * element, static_cast<int>(n), mpi_type(dtype), mpi_op(op),
                              s.comm),
                "MPI_Allreduce");
      // Divide each piece while it is still in cache.
      if (op == ReduceOp::Average) divide(data + begin * element, n, dtype, s.size);
    }
  });
}

std::shared_ptr<Work> MpiProcessGroup::broadcast(Tensor& tensor, int root) {
  check_tensor(tensor, "MpiProcessGroup::broadcast", "tensor");
  if (root < 0 || root >= size_)
    throw std::invalid_argument("MpiProcessGroup::broadcast: root " + std::to_string(root) + " is not a rank of a group of " +
                                std::to_string(size_));
  const Signature signature{.kind = CollectiveKind::Broadcast, .bytes = nbytes(tensor),
                            .dtype = static_cast<std::int64_t>(tensor.dtype()), .root = root};
  return state_->enqueue(signature, [t = tensor, root](State& s) {
    const std::int64_t total = nbytes(t);
    for (std::int64_t begin = 0; begin < total; begin += static_cast<std::int64_t>(kChunkBytes)) {
      const std::int64_t n = std::min(static_cast<std::int64_t>(kChunkBytes), total - begin);
      check_mpi(MPI_Bcast(bytes_of(t) + begin, static_cast<int>(n), MPI_BYTE, root, s.comm), "MPI_Bcast");
    }
  });
}

std::shared_ptr<Work> MpiProcessGroup::allgather(std::vector<Tensor>& outputs, const Tensor& input) {
  const char* op = "MpiProcessGroup::allgather";
  check_tensor(input, op, "input");
  if (static_cast<int>(outputs.size()) != size_)
    throw std::invalid_argument(std::string(op) + ": expected " + std::to_string(size_) + " output tensors (one per rank), got " +
                                std::to_string(outputs.size()));
  for (const Tensor& out : outputs) {
    check_tensor(out, op, "output");
    if (out.dtype() != input.dtype() || out.shape() != input.shape())
      throw std::invalid_argument(std::string(op) + ": every output must be shaped like the input " + describe(input) +
                                  ", got " + describe(out));
  }
  const Signature signature{.kind = CollectiveKind::Allgather, .bytes = nbytes(input),
                            .dtype = static_cast<std::int64_t>(input.dtype())};
  return state_->enqueue(signature, [in = input, outs = outputs](State& s) {
    // Rank r's piece of each chunk lands at r·n in the staging buffer, then is copied to outs[r].
    const std::int64_t total = nbytes(in);
    const std::int64_t chunk = std::max<std::int64_t>(1, static_cast<std::int64_t>(kChunkBytes) / s.size);
    for (std::int64_t begin = 0; begin < total; begin += chunk) {
      const std::int64_t n = std::min(chunk, total - begin);
      char* staging = s.staging_buffer(static_cast<std::size_t>(n * s.size));
      check_mpi(MPI_Allgather(bytes_of(in) + begin, static_cast<int>(n), MPI_BYTE, staging, static_cast<int>(n),
                              MPI_BYTE, s.comm),
                "MPI_Allgather");
      for (int r = 0; r < s.size; ++r) std::memcpy(bytes_of(outs[static_cast<std::size_t>(r)]) + begin, staging + r * n, static_cast<std::size_t>(n));
    }
  });
}

std::shared_ptr<Work> MpiProcessGroup::reduce_scatter(Tensor& output, const Tensor& input, ReduceOp op) {
  const char* name = "MpiProcessGroup::reduce_scatter";
  check_tensor(input, name, "input");
  check_tensor(output, name, "output");
  check_same_dtype(input, output, name);
  if (input.numel() != output.numel() * size_)
    throw std::invalid_argument(std::string(name) + ": the input " + describe(input) + " must hold " + std::to_string(size_) +
                                " times the output's " + std::to_string(output.numel()) + " elements (output " +
                                describe(output) + ")");
  const Signature signature{.kind = CollectiveKind::ReduceScatter, .reduce_op = static_cast<std::int64_t>(op),
                            .bytes = nbytes(input), .dtype = static_cast<std::int64_t>(input.dtype())};
  return state_->enqueue(signature, [in = input, out = output, op](State& s) {
    const DType dtype = in.dtype();
    const std::int64_t element = static_cast<std::int64_t>(dtype_size(dtype));
    const std::int64_t per_rank = out.numel();
    // Each call reduces at most kChunkBytes of input: size() pieces of `chunk` elements.
    const std::int64_t chunk = std::max<std::int64_t>(1, static_cast<std::int64_t>(kChunkBytes) / element / s.size);
    for (std::int64_t begin = 0; begin < per_rank; begin += chunk) {
      const std::int64_t n = std::min(chunk, per_rank - begin);
      const char* send = bytes_of(in);
      if (n < per_rank) {  // gather rank r's piece of this chunk from r·per_rank + begin
        char* staging = s.staging_buffer(static_cast<std::size_t>(n * element * s.size));
        for (int r = 0; r < s.size; ++r)
          std::memcpy(staging + r * n * element, bytes_of(in) + (r * per_rank + begin) * element,
                      static_cast<std::size_t>(n * element));
        send = staging;
      }
      char* dst = bytes_of(out) + begin * element;
      check_mpi(MPI_Reduce_scatter_block(send, dst, static_cast<int>(n), mpi_type(dtype), mpi_op(op), s.comm),
                "MPI_Reduce_scatter_block");
      if (op == ReduceOp::Average) divide(dst, n, dtype, s.size);
    }
  });
}

Tensor MpiProcessGroup::allocate_symmetric(std::int64_t numel, DType dtype, Device device) {
  if (!state_->channel || !device.is_cpu()) return {};
  // Queued like a collective, so that it is compared across ranks and runs on the communication thread, the only
  // one that uses the channel and the communicator.
  // The channel itself turns down sizes that are negative or too large (on every rank alike); the signature only
  // needs a byte count that cannot overflow.
  const auto element = static_cast<std::int64_t>(dtype_size(dtype));
  const Signature signature{.kind = CollectiveKind::AllocateSymmetric,
                            .bytes = std::clamp<std::int64_t>(numel, -1, SharedMemoryChannel::kLargestSymmetricBytes / element) * element,
                            .dtype = static_cast<std::int64_t>(dtype)};
  auto allocated = std::make_shared<Tensor>();
  state_->enqueue(signature, [allocated, numel, dtype](State& s) { *allocated = s.channel->allocate_symmetric(numel, dtype); })
      ->wait();
  return *allocated;
}

std::shared_ptr<Work> MpiProcessGroup::barrier() {
  return state_->enqueue(Signature{.kind = CollectiveKind::Barrier}, [](State& s) { check_mpi(MPI_Barrier(s.comm), "MPI_Barrier"); });
}

}  // namespace lamina::distributed
