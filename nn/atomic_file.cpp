#include <lamina/nn/atomic_file.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace lamina::nn {
namespace {
// Bytes written to temp files while the kill hook is armed, over all files of this process.
std::uint64_t g_hooked_bytes = 0;

std::runtime_error error(const std::string& what, const std::string& path) {
  return std::runtime_error("cannot " + what + " '" + path + "': " + std::strerror(errno));
}
}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), temp_(path_ + ".tmp") {
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw error("create", temp_);
  const char* kill = std::getenv("LAMINA_CHECKPOINT_KILL_AFTER_BYTES");
  if (kill && *kill) kill_after_ = std::strtoull(kill, nullptr, 10);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_.c_str());
  }
}

void AtomicFile::write(const void* data, std::size_t n) {
  const char* p = static_cast<const char*>(data);
  if (kill_after_ != ~std::uint64_t{0}) {
    if (g_hooked_bytes + n > kill_after_) {
      // What a crash leaves: the bytes up to the kill point in the temp file, and no rename.
      if (kill_after_ > g_hooked_bytes && ::write(fd_, p, static_cast<std::size_t>(kill_after_ - g_hooked_bytes)) < 0)
        std::abort();
      std::raise(SIGKILL);
    }
    g_hooked_bytes += n;
  }
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw error("write", temp_);
    p += w;
    n -= static_cast<std::size_t>(w);
    written_ += static_cast<std::uint64_t>(w);
  }
  // Stream to the disk while writing rather than all at commit(): start the writeback of each finished window, and
  // once the window before it is on the disk, drop it from the page cache. The disk works while the caller
  // serializes, and a large file never holds more than two windows of dirty pages. (Errors surface at commit()'s
  // fsync.)
  while (written_ - streamed_ >= kWindow) {
    ::sync_file_range(fd_, static_cast<off_t>(streamed_), kWindow, SYNC_FILE_RANGE_WRITE);
    if (streamed_ >= kWindow) {
      const auto previous = static_cast<off_t>(streamed_ - kWindow);
      ::sync_file_range(fd_, previous, kWindow,
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
      ::posix_fadvise(fd_, previous, kWindow, POSIX_FADV_DONTNEED);
    }
    streamed_ += kWindow;
  }
}

void AtomicFile::write_at(std::uint64_t offset, const void* data, std::size_t n) {
  if (offset + n > written_) throw std::logic_error("AtomicFile::write_at: past the bytes written to '" + temp_ + "'");
  if (::pwrite(fd_, data, n, static_cast<off_t>(offset)) != static_cast<ssize_t>(n)) throw error("write", temp_);
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) throw error("sync", temp_);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    ::unlink(temp_.c_str());
    throw error("close", temp_);
  }
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    const auto e = error("rename '" + temp_ + "' to", path_);
    ::unlink(temp_.c_str());
    throw e;
  }
  // The rename itself is durable only once the directory is.
  const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = d >= 0 && ::fsync(d) == 0;
  if (d >= 0) ::close(d);
  if (!synced) throw error("sync the directory", dir);
}

}  // namespace lamina::nn
