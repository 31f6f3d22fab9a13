#include <lamina/nn/idx.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <zlib.h>

namespace lamina::nn {
namespace {

// A header can claim any size; past this the file is certainly damaged (Fashion-MNIST's train images: 47 MB).
constexpr std::uint64_t kMaxIdxBytes = std::uint64_t{1} << 36;
// Data is read in pieces, and the buffer grows with what actually arrives, so a header that lies about the size
// ends in a "truncated" error instead of a huge allocation.
constexpr std::size_t kReadChunk = std::size_t{1} << 22;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("IDX file '" + path + "': " + what);
}

using GzFile = std::unique_ptr<gzFile_s, decltype(&gzclose)>;

// What zlib says went wrong after a short read, or "" when the data simply ended.
std::string zlib_problem(gzFile file) {
  int err = Z_OK;
  const char* message = gzerror(file, &err);
  if (err == Z_OK) return "";
  if (err == Z_ERRNO) return std::strerror(errno);
  // zlib prefixes its message with the path, which our own messages already name.
  const std::string text = message;
  const std::size_t colon = text.rfind(": ");
  return colon == std::string::npos ? text : text.substr(colon + 2);
}

// Reads up to `n` bytes; returns how many arrived (fewer at the end of the data or at damage that zlib found after
// some bytes; gzerror tells which).
std::size_t read_some(gzFile file, std::uint8_t* dst, std::size_t n, const std::string& path) {
  std::size_t got = 0;
  while (got < n) {
    const auto want = static_cast<unsigned>(std::min(n - got, kReadChunk));
    const int r = gzread(file, dst + got, want);
    if (r < 0) fail(path, "damaged gzip data (" + zlib_problem(file) + ")");
    got += static_cast<std::size_t>(r);
    if (r == 0 || static_cast<unsigned>(r) < want) break;
  }
  return got;
}

// Reports a read that came up short: a gzip stream that is cut off or damaged, or a file that simply ends early
// (`truncated` says where).
[[noreturn]] void fail_short_read(gzFile file, const std::string& path, const std::string& truncated) {
  int err = Z_OK;
  gzerror(file, &err);
  // Z_BUF_ERROR is zlib's "unexpected end of file": the gzip stream itself was cut off.
  if (err == Z_BUF_ERROR) fail(path, truncated + " (the gzip stream ends early: " + zlib_problem(file) + ")");
  if (err != Z_OK) fail(path, "damaged gzip data (" + zlib_problem(file) + ")");
  fail(path, truncated);
}

std::uint32_t big_endian(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

}  // namespace

IdxArray read_idx(const std::string& path, std::uint32_t magic) {
  errno = 0;
  GzFile file(gzopen(path.c_str(), "rb"), &gzclose);
  if (!file) fail(path, std::string("cannot open (") + (errno ? std::strerror(errno) : "out of memory") + ")");
  gzbuffer(file.get(), 1 << 18);

  std::uint8_t word[4];
  if (read_some(file.get(), word, 4, path) != 4) fail_short_read(file.get(), path, "truncated: no complete header");
  const std::uint32_t found = big_endian(word);
  if (found != magic)
    fail(path, "bad magic number " + std::to_string(found) + ", expected " + std::to_string(magic) +
                   " (unsigned bytes, " + std::to_string(magic & 0xFF) + "-dimensional)");

  IdxArray out;
  std::uint64_t total = 1;
  for (std::uint32_t d = 0; d < (magic & 0xFF); ++d) {
    if (read_some(file.get(), word, 4, path) != 4) fail_short_read(file.get(), path, "truncated: no complete header");
    const std::uint32_t size = big_endian(word);
    if (size != 0 && total > kMaxIdxBytes / size)
      fail(path, "the header's dimensions promise more than 2^36 bytes; the header is damaged");
    out.dims.push_back(size);
    total *= size;
  }

  std::size_t got = 0;
  while (got < total) {
    const std::size_t piece = std::min<std::size_t>(total - got, kReadChunk);
    out.data.resize(got + piece);
    const std::size_t r = read_some(file.get(), out.data.data() + got, piece, path);
    got += r;
    if (r < piece)
      fail_short_read(file.get(), path,
                       "truncated: the header promises " + std::to_string(total) + " bytes of data, the file holds " +
                           std::to_string(got));
  }
  // Reading past the data also makes zlib verify the gzip trailer (CRC and length).
  std::uint8_t extra[64];
  const std::size_t more = read_some(file.get(), extra, sizeof extra, path);
  if (more > 0)
    fail(path, "more bytes than the header promises (" + std::to_string(total) + " bytes of data, then at least " +
                   std::to_string(more) + " more)");
  int err = Z_OK;
  gzerror(file.get(), &err);
  if (err != Z_OK) fail_short_read(file.get(), path, "truncated after the last element");
  return out;
}

IdxArray read_idx_images(const std::string& path) { return read_idx(path, kIdxImagesMagic); }

IdxArray read_idx_labels(const std::string& path, int num_classes) {
  IdxArray labels = read_idx(path, kIdxLabelsMagic);
  const auto bad = std::find_if(labels.data.begin(), labels.data.end(), [&](std::uint8_t v) { return v >= num_classes; });
  if (bad != labels.data.end())
    fail(path, "label " + std::to_string(*bad) + " at index " + std::to_string(bad - labels.data.begin()) +
                   " is outside 0.." + std::to_string(num_classes - 1));
  return labels;
}

}  // namespace lamina::nn
