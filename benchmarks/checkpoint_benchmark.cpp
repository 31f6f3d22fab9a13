// Checkpoint save and load against a plain sequential write (+ fsync) and read of the same bytes, in the same run
// on the same disk: a ResNet-18 state dict (~45 MB) and a synthetic 500 MB one. Medians of several rounds, each
// round running every variant once in turn, so that the disk's and the machine's moods are shared.
//
// A checkpoint save always writes a new file (a temp file renamed over the old one), which in this VM costs more
// than overwriting a file in place: the page cache takes fresh pages (first touches of guest memory are slow here,
// see /work/shared/ENVIRONMENT.md) while the old file's stay cached until the rename. Both baselines are shown.
//
//   checkpoint_benchmark [folder (default /var/tmp)] [rounds (default 7)] [synthetic MB (default 500)]
//
// Prints a table on stderr and, on stdout, one JSON line per side of each comparison (benchmarks/checkpoint.py
// turns them into the suite's records).
//
// "cold" reads first drop the file's pages from the page cache (posix_fadvise DONTNEED after an fsync), so they
// read the disk; "warm" reads find the file in the page cache. A checkpoint save includes its fsync, the rename
// and the directory fsync; a load includes the checksum pass and the parse into freshly allocated tensors (the
// plain read also reads into freshly allocated tensors of the same shapes).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <lamina/core/autograd.h>
#include <lamina/core/parallel.h>
#include <lamina/core/random.h>
#include <lamina/nn/checkpoint.h>
#include <lamina/nn/resnet.h>

using namespace lamina;

namespace {

double seconds(const std::function<void()>& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

void drop_from_page_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  check(fd >= 0 && ::fdatasync(fd) == 0 && ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0, "fadvise " + path);
  ::close(fd);
}

// The baseline: every tensor's bytes, one write each, then fsync; into a new file (the old one deleted first), or
// over the old one in place (O_TRUNC).
void plain_write(const std::string& path, const nn::StateDict& state, bool new_file) {
  if (new_file) std::filesystem::remove(path);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  check(fd >= 0, "open " + path);
  for (const auto& [name, t] : state) {
    const char* p = static_cast<const char*>(t.raw_data());
    std::size_t n = static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype());
    while (n > 0) {
      const ssize_t w = ::write(fd, p, n);
      check(w > 0, "write " + path);
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }
  check(::fsync(fd) == 0 && ::close(fd) == 0, "fsync " + path);
}

// The baseline read: into fresh tensors of the same shapes.
void plain_read(const std::string& path, const nn::StateDict& like) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  check(fd >= 0, "open " + path);
  std::vector<Tensor> out;
  for (const auto& [name, t] : like) {
    out.push_back(Tensor::empty(t.shape(), {.dtype = t.dtype()}));
    char* p = static_cast<char*>(out.back().raw_data());
    std::size_t n = static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype());
    while (n > 0) {
      const ssize_t r = ::read(fd, p, n);
      check(r > 0, "read " + path);
      p += r;
      n -= static_cast<std::size_t>(r);
    }
  }
  ::close(fd);
}

void run(const std::string& label, const nn::StateDict& state, const std::string& dir, int rounds) {
  std::uint64_t bytes = 0;
  for (const auto& [name, t] : state) bytes += static_cast<std::uint64_t>(t.numel()) * dtype_size(t.dtype());
  nn::Checkpoint ckpt;
  ckpt.model = state;
  const std::string ckpt_path = dir + "/bench.ckpt", raw_path = dir + "/bench.raw";

  std::vector<double> write_new, write_in_place, save, read_cold, load_cold, read_warm, load_warm;
  // Round -1 is a warm-up that is not recorded: it faults in the buffers both sides read into (fresh memory costs
  // ~9 us a page in this VM), after which both reuse them from lamina's caching allocator.
  for (int r = -1; r < rounds; ++r) {
    const auto record = [&](std::vector<double>& times, const std::function<void()>& fn) {
      const double t = seconds(fn);
      if (r >= 0) times.push_back(t);
    };
    record(write_new, [&] { plain_write(raw_path, state, true); });
    record(save, [&] { nn::save_checkpoint(ckpt_path, ckpt); });
    record(write_in_place, [&] { plain_write(raw_path, state, false); });
    drop_from_page_cache(raw_path);
    drop_from_page_cache(ckpt_path);
    record(read_cold, [&] { plain_read(raw_path, state); });
    record(load_cold, [&] { nn::load_checkpoint(ckpt_path); });
    record(read_warm, [&] { plain_read(raw_path, state); });
    record(load_warm, [&] { nn::load_checkpoint(ckpt_path); });
  }
  const double file_mb = static_cast<double>(std::filesystem::file_size(ckpt_path)) / 1e6, mb = static_cast<double>(bytes) / 1e6;
  const auto row = [&](const char* what, const std::vector<double>& plain, const std::vector<double>& ours) {
    const double p = median(plain), o = median(ours);
    std::fprintf(stderr, "| %s | %s | %.3f s (%.0f MB/s) | %.3f s (%.0f MB/s) | %.2f |\n", label.c_str(), what, p,
                 mb / p, o, mb / o, p / o);
    for (const auto& [impl, t] : {std::pair{"plain", p}, std::pair{"lamina", o}})
      std::printf("{\"state_dict\": \"%s\", \"mb\": %.1f, \"operation\": \"%s\", \"impl\": \"%s\", \"seconds\": %.5f, "
                  "\"mb_per_s\": %.1f, \"rounds\": %d}\n", label.c_str(), mb, what, impl, t, mb / t, rounds);
  };
  std::fprintf(stderr, "%s: %zu tensors, %.1f MB of data, checkpoint file %.1f MB; medians of %d rounds\n", label.c_str(),
              state.size(), mb, file_mb, rounds);
  std::fprintf(stderr, "| state dict | operation | plain | checkpoint | checkpoint speed / plain |\n|---|---|---|---|---|\n");
  row("save vs write + fsync, new file", write_new, save);
  row("save vs write + fsync, in place", write_in_place, save);
  row("load vs read, cold", read_cold, load_cold);
  row("load vs read, warm", read_warm, load_warm);
  std::filesystem::remove(ckpt_path);
  std::filesystem::remove(raw_path);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/var/tmp";
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 7;
  const int synthetic_mb = argc > 3 ? std::atoi(argv[3]) : 500;
  set_num_threads(1);
  manual_seed(0);

  nn::ResNet18 resnet;
  {
    NoGradGuard no_grad;  // one forward gives the deferred parameters their shapes
    resnet.eval();
    resnet(zeros({1, 1, 28, 28}));
  }
  nn::StateDict synthetic;
  for (int i = 0; i < synthetic_mb / 10; ++i) synthetic.insert("layer" + std::to_string(i) + ".weight", rand({2500, 1000}));

  run("ResNet-18", resnet.state_dict(), dir, rounds);
  run("synthetic " + std::to_string(synthetic.size() * 10) + " MB", synthetic, dir, rounds);
  return 0;
}
