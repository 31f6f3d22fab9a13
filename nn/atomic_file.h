#pragma once
// AtomicFile: a file that appears whole or not at all. It is written under "<path>.tmp" in the same directory;
// commit() fsyncs it, renames it over `path` and fsyncs the directory, so a reader of `path` sees the old file or
// the new one, never a mix — also after a crash. An AtomicFile destroyed without commit() removes its temp file.
// A large file is streamed to the disk as it is written, and does not stay in the page cache (see write()).
//
// Test hook: when the environment variable LAMINA_CHECKPOINT_KILL_AFTER_BYTES is set to N, the process kills
// itself with SIGKILL once N bytes have been written to temp files (counted over every AtomicFile created while it
// is set, so N can fall inside, say, a run's second checkpoint), as if the machine had died in the middle of a write.
#include <cstddef>
#include <cstdint>
#include <string>

namespace lamina::nn {

class AtomicFile {
 public:
  // Creates (or truncates) the temp file; an error names it and the cause.
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends.
  void write(const void* data, std::size_t n);
  // Overwrites bytes already written, at `offset`.
  void write_at(std::uint64_t offset, const void* data, std::size_t n);
  // Makes the file durable under its final name.
  void commit();

  const std::string& temp_path() const { return temp_; }
  std::uint64_t size() const { return written_; }

 private:
  std::string path_, temp_;
  int fd_ = -1;
  static constexpr std::uint64_t kWindow = std::uint64_t{8} << 20;
  std::uint64_t written_ = 0;
  std::uint64_t streamed_ = 0;  // bytes handed to the disk by write()'s streaming
  std::uint64_t kill_after_ = ~std::uint64_t{0};
};

}  // namespace lamina::nn
