#include <lamina/nn/checkpoint.h>

#include <lamina/nn/atomic_file.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
// XXH3 with the widest vector unit the CPU has (AVX2 / AVX-512, chosen at run time): Debian's libxxhash is built
// for baseline x86-64, whose SSE2 XXH3 hashed ~9 GB/s here against ~25 GB/s. The header routes every XXH3 call in
// this file there; the hash values are the same.
#include <xxh_x86dispatch.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <streambuf>
#include <thread>

#include <boost/archive/archive_exception.hpp>
#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>

namespace lamina::nn {
namespace {

// Boost's binary archive writes primitives in the machine's byte order, and the header is written the same way.
static_assert(std::endian::native == std::endian::little, "the checkpoint format is little-endian");

constexpr std::array<char, 8> kMagic = {'L', 'A', 'M', 'I', 'N', 'A', 'C', 'K'};
constexpr std::size_t kHeaderSize = 40;
// The payload size in the header a temp file starts with; the real header replaces it after the last byte.
constexpr std::uint64_t kUnfinished = ~std::uint64_t{0};
constexpr unsigned kArchiveFlags = boost::archive::no_header | boost::archive::no_codecvt;
constexpr std::size_t kBufferBytes = std::size_t{4} << 20;
// A load reads the file in pieces this size, and another thread hashes each piece right after its read, while it is
// still in the cache: with 4 MiB pieces the hash re-read every byte from memory. Much smaller pieces (256 KiB)
// make a cold read slower: the disk then gets smaller requests.
constexpr std::size_t kLoadPieceBytes = std::size_t{1} << 20;
constexpr std::uint8_t kMaxRank = 16;
constexpr std::size_t kDataAlignment = 64;  // of tensor data within the file

std::string errno_text() { return std::strerror(errno); }

// --- header ---

struct Header {
  std::uint32_t version = kCheckpointFormatVersion;
  std::uint64_t payload_size = 0;
  std::uint64_t payload_checksum = 0;
};

std::array<std::uint8_t, kHeaderSize> encode_header(const Header& h) {
  std::array<std::uint8_t, kHeaderSize> out{};
  const std::uint32_t reserved = 0;
  std::memcpy(out.data(), kMagic.data(), 8);
  std::memcpy(out.data() + 8, &h.version, 4);
  std::memcpy(out.data() + 12, &reserved, 4);
  std::memcpy(out.data() + 16, &h.payload_size, 8);
  std::memcpy(out.data() + 24, &h.payload_checksum, 8);
  const std::uint64_t header_checksum = XXH3_64bits(out.data(), 32);
  std::memcpy(out.data() + 32, &header_checksum, 8);
  return out;
}

// Checks everything the header alone can tell, against the size of the file it came from.
Header decode_header(const std::uint8_t* bytes, std::uint64_t file_size, const std::string& path) {
  if (file_size < kHeaderSize)
    throw CheckpointError(path, "truncated: " + std::to_string(file_size) + " bytes, shorter than the " +
                                    std::to_string(kHeaderSize) + "-byte header");
  if (std::memcmp(bytes, kMagic.data(), 8) != 0) throw CheckpointError(path, "not a lamina checkpoint (bad magic)");
  std::uint64_t header_checksum;
  std::memcpy(&header_checksum, bytes + 32, 8);
  if (XXH3_64bits(bytes, 32) != header_checksum) throw CheckpointError(path, "damaged header (checksum mismatch)");
  Header h;
  std::uint32_t reserved;
  std::memcpy(&h.version, bytes + 8, 4);
  std::memcpy(&reserved, bytes + 12, 4);
  std::memcpy(&h.payload_size, bytes + 16, 8);
  std::memcpy(&h.payload_checksum, bytes + 24, 8);
  if (h.version > kCheckpointFormatVersion)
    throw CheckpointError(path, "format version " + std::to_string(h.version) +
                                    " is newer than this build of lamina reads (up to " +
                                    std::to_string(kCheckpointFormatVersion) + ")");
  if (h.version == 0) throw CheckpointError(path, "invalid format version 0");
  if (reserved != 0) throw CheckpointError(path, "reserved header field is " + std::to_string(reserved) + ", not 0");
  if (h.payload_size == kUnfinished)
    throw CheckpointError(path, "unfinished write (the process saving it stopped before the end)");
  const std::uint64_t actual = file_size - kHeaderSize;
  if (actual < h.payload_size)
    throw CheckpointError(path, "truncated: the header announces " + std::to_string(h.payload_size) +
                                    " payload bytes but the file holds " + std::to_string(actual));
  if (actual > h.payload_size)
    throw CheckpointError(path, std::to_string(actual - h.payload_size) + " unexpected bytes after the " +
                                    std::to_string(h.payload_size) + "-byte payload");
  return h;
}

// --- files ---

struct FileDescriptor {
  int fd = -1;
  explicit FileDescriptor(int f) : fd(f) {}
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
};

// Reads exactly n bytes at the current offset; false at an early end of file.
bool read_all(int fd, char* data, std::size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t r = ::read(fd, data, n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw CheckpointError(path, "cannot read: " + errno_text());
    if (r == 0) return false;
    data += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

// The payload's way to the temp file: buffered, hashed on the way, and large pieces (tensor data) written
// straight from the tensor without a copy.
class HashingFileWriter : public std::streambuf {
 public:
  explicit HashingFileWriter(AtomicFile& file) : file_(file), state_(XXH3_createState(), &XXH3_freeState) {
    XXH3_64bits_reset(state_.get());
    buffer_.reserve(kBufferBytes);
  }
  void flush() {
    emit(buffer_.data(), buffer_.size());
    buffer_.clear();
  }
  std::uint64_t payload_bytes() const { return payload_bytes_; }
  // Bytes of payload handed to this writer so far (written or still buffered).
  std::uint64_t position() const { return payload_bytes_ + buffer_.size(); }
  std::uint64_t checksum() const { return XXH3_64bits_digest(state_.get()); }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    const auto count = static_cast<std::size_t>(n);
    if (count >= kBufferBytes / 2) {
      flush();
      emit(s, count);
    } else {
      if (buffer_.size() + count > kBufferBytes) flush();
      buffer_.insert(buffer_.end(), s, s + count);
    }
    return n;
  }
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    const char ch = traits_type::to_char_type(c);
    xsputn(&ch, 1);
    return c;
  }

 private:
  void emit(const char* data, std::size_t n) {
    XXH3_64bits_update(state_.get(), data, n);
    payload_bytes_ += n;
    file_.write(data, n);
  }

  AtomicFile& file_;
  std::uint64_t payload_bytes_ = 0;
  std::vector<char> buffer_;
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state_;
};

// Hashes a buffer on a thread of its own while the caller is still filling it, front to back. A load from the page
// cache is a copy at ~5.6 GB/s here and XXH3 runs at ~25 GB/s: one after the other, the hash made a warm load 0.75x
// as fast as a plain read; side by side, it costs about nothing.
class BackgroundHasher {
 public:
  BackgroundHasher(const std::uint8_t* data, std::uint64_t size)
      : data_(data), size_(size), thread_([this] { run(); }) {}
  BackgroundHasher(const BackgroundHasher&) = delete;
  BackgroundHasher& operator=(const BackgroundHasher&) = delete;
  ~BackgroundHasher() {
    if (!thread_.joinable()) return;
    publish(kAbandoned);  // the caller failed before filling the buffer: stop where the hash is
    thread_.join();
  }

  // Bytes [0, n) of the buffer are filled.
  void filled(std::uint64_t n) { publish(n); }

  // The hash of the whole buffer, once filled(size) was called.
  std::uint64_t digest() {
    thread_.join();
    return digest_;
  }

 private:
  static constexpr std::uint64_t kAbandoned = ~std::uint64_t{0};

  void publish(std::uint64_t n) {
    filled_.store(n, std::memory_order_release);
    filled_.notify_one();
  }

  void run() {
    std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(), &XXH3_freeState);
    XXH3_64bits_reset(state.get());
    for (std::uint64_t done = 0; done < size_;) {
      filled_.wait(done, std::memory_order_acquire);
      const std::uint64_t ready = filled_.load(std::memory_order_acquire);
      if (ready == kAbandoned) return;
      XXH3_64bits_update(state.get(), data_ + done, static_cast<std::size_t>(ready - done));
      done = ready;
    }
    digest_ = XXH3_64bits_digest(state.get());
  }

  const std::uint8_t* data_;
  const std::uint64_t size_;
  std::atomic<std::uint64_t> filled_{0};
  std::uint64_t digest_ = 0;
  std::thread thread_;  // last: it starts once the members above exist
};

// The payload's way back, from memory. Tensor data is not read through it but skipped (seekoff), since the
// parser takes it straight from memory.
class MemoryReader : public std::streambuf {
 public:
  MemoryReader(const std::uint8_t* data, std::size_t n) {
    char* p = const_cast<char*>(reinterpret_cast<const char*>(data));  // only ever read
    setg(p, p, p + n);
  }

 protected:
  pos_type seekoff(off_type off, std::ios_base::seekdir dir, std::ios_base::openmode which) override {
    if (dir != std::ios_base::cur || which != std::ios_base::in || off < 0 || off > egptr() - gptr())
      return pos_type(off_type(-1));
    setg(eback(), gptr() + off, egptr());
    return pos_type(gptr() - eback());
  }
};

// --- the payload ---

std::uint8_t dtype_code(DType dtype) {
  switch (dtype) {
    case DType::Float32: return 1;
    case DType::Float64: return 2;
    case DType::Int64: return 3;
  }
  return 0;
}

struct Payload {
  std::vector<std::pair<std::string, std::string>> strings;
  std::vector<std::pair<std::string, std::int64_t>> counters;
  std::vector<std::pair<std::string, Tensor>> tensors;
};

Payload flatten(const Checkpoint& c) {
  Payload p;
  for (const auto& [key, value] : c.config) p.strings.emplace_back(key, value);
  p.counters = {{"epoch", c.epoch},
                {"step", c.step},
                {"scheduler.count", c.scheduler_count},
                {"rng.seed", static_cast<std::int64_t>(c.rng.seed)},
                {"rng.offset", static_cast<std::int64_t>(c.rng.offset)},
                {"sampler.position", c.sampler_position},
                {"sampler.epoch_samples_seen", c.epoch_samples_seen}};
  for (const auto& [name, t] : c.model) p.tensors.emplace_back("model." + name, t);
  for (const auto& [name, t] : c.optimizer) p.tensors.emplace_back("optimizer." + name, t);
  return p;
}

void write_string(boost::archive::binary_oarchive& ar, const std::string& s) {
  const std::uint64_t n = s.size();
  ar << n;
  ar.save_binary(s.data(), s.size());
}

void write_payload(boost::archive::binary_oarchive& ar, const HashingFileWriter& out, const Payload& p,
                   const std::string& path) {
  ar << static_cast<std::uint64_t>(p.strings.size());
  for (const auto& [key, value] : p.strings) {
    write_string(ar, key);
    write_string(ar, value);
  }
  ar << static_cast<std::uint64_t>(p.counters.size());
  for (const auto& [key, value] : p.counters) {
    write_string(ar, key);
    ar << value;
  }
  ar << static_cast<std::uint64_t>(p.tensors.size());
  for (const auto& [key, t] : p.tensors) {
    if (!t.defined() || t.is_deferred())
      throw CheckpointError(path, "cannot save '" + key + "': it is " +
                                      (t.defined() ? "not materialized yet (run a forward pass first)" : "undefined"));
    const Tensor c = t.to(Device::cpu()).contiguous();
    write_string(ar, key);
    ar << dtype_code(c.dtype());
    ar << static_cast<std::uint8_t>(c.dim());
    for (std::int64_t d : c.shape()) ar << d;
    // Zero bytes up to the next multiple of kDataAlignment in the file, so that a reader holding the file in
    // aligned memory can use the data where it lies.
    const auto padding = static_cast<std::uint8_t>((kDataAlignment - (kHeaderSize + out.position() + 1) % kDataAlignment) % kDataAlignment);
    ar << padding;
    const std::array<char, kDataAlignment> zeros{};
    ar.save_binary(zeros.data(), padding);
    ar.save_binary(c.raw_data(), static_cast<std::size_t>(c.numel()) * dtype_size(c.dtype()));
  }
}

// Reads the payload's primitives through Boost, charging each against the bytes left before it is read, so no
// length in the file can make the reader allocate more than the file holds.
//
// The payload is in memory at `base` (kHeaderSize bytes into the file). Tensor data is used where it lies when
// `owner` holds that memory (then the tensors are views that keep it alive), and copied out otherwise.
class PayloadReader {
 public:
  PayloadReader(MemoryReader& in, const std::uint8_t* base, std::uint64_t size, Tensor owner, const std::string& path)
      : in_(in), archive_(in, kArchiveFlags), base_(base), size_(size), left_(size), owner_(std::move(owner)), path_(path) {}

  std::uint64_t left() const { return left_; }

  template <typename T>
  T number(const std::string& what) {
    take(sizeof(T), what);
    T v;
    archive_ >> v;
    return v;
  }

  std::string string(const std::string& what) {
    const auto n = number<std::uint64_t>(what + "'s length");
    take(n, what);
    std::string s(static_cast<std::size_t>(n), '\0');
    archive_.load_binary(s.data(), s.size());
    return s;
  }

  Tensor tensor(const std::string& key) {
    const auto code = number<std::uint8_t>("the dtype of '" + key + "'");
    DType dtype;
    switch (code) {
      case 1: dtype = DType::Float32; break;
      case 2: dtype = DType::Float64; break;
      case 3: dtype = DType::Int64; break;
      default: throw CheckpointError(path_, "tensor '" + key + "' has unknown dtype code " + std::to_string(code));
    }
    const auto rank = number<std::uint8_t>("the rank of '" + key + "'");
    if (rank > kMaxRank)
      throw CheckpointError(path_, "tensor '" + key + "' has rank " + std::to_string(rank) + " (at most " +
                                       std::to_string(kMaxRank) + ")");
    Shape shape;
    for (int i = 0; i < rank; ++i) {
      shape.push_back(number<std::int64_t>("the shape of '" + key + "'"));
      if (shape.back() < 0) throw CheckpointError(path_, "tensor '" + key + "' has a negative size in " + shape_str(shape));
    }
    // Sizes no tensor can have: their product, zeros left out, overflows (an empty tensor could claim such sizes).
    std::uint64_t product = 1;
    for (std::int64_t d : shape)
      if (d != 0) {
        if (product > static_cast<std::uint64_t>(INT64_MAX) / static_cast<std::uint64_t>(d))
          throw CheckpointError(path_, "tensor '" + key + "' has sizes " + shape_str(shape) + " whose product overflows");
        product *= static_cast<std::uint64_t>(d);
      }
    // Its byte count, refused as soon as it exceeds what is left (so the product cannot overflow either).
    std::uint64_t bytes = dtype_size(dtype);
    if (std::find(shape.begin(), shape.end(), 0) != shape.end()) bytes = 0;
    for (std::int64_t d : shape) {
      if (bytes == 0) break;
      if (bytes > left_ / static_cast<std::uint64_t>(d))
        throw CheckpointError(path_, "tensor '" + key + "' of shape " + shape_str(shape) + " and dtype " +
                                         dtype_name(dtype) + " needs more than the " + std::to_string(left_) +
                                         " bytes left in the payload");
      bytes *= static_cast<std::uint64_t>(d);
    }
    const auto padding = number<std::uint8_t>("the padding of '" + key + "'");
    take(padding, "the padding of '" + key + "'");
    const std::uint8_t* pad = base_ + (size_ - left_ - padding);
    if (std::any_of(pad, pad + padding, [](std::uint8_t b) { return b != 0; }) ||
        (kHeaderSize + size_ - left_) % kDataAlignment != 0)
      throw CheckpointError(path_, "tensor '" + key + "' has bad padding before its data");
    take(bytes, "the data of '" + key + "'");
    const std::uint8_t* data = base_ + (size_ - left_ - bytes);
    in_.pubseekoff(static_cast<std::streamoff>(padding + bytes), std::ios_base::cur, std::ios_base::in);
    if (owner_.defined() && bytes > 0)
      return from_blob(owner_.impl_ptr(), const_cast<std::uint8_t*>(data), shape, dtype);
    Tensor t = Tensor::empty(shape, {.dtype = dtype});
    if (bytes > 0) std::memcpy(t.raw_data(), data, static_cast<std::size_t>(bytes));
    return t;
  }

  // How many entries a list claims; each takes at least one byte, so more than are left is damage.
  std::uint64_t count(const std::string& what) {
    const auto n = number<std::uint64_t>("the number of " + what);
    if (n > left_)
      throw CheckpointError(path_, "the payload claims " + std::to_string(n) + " " + what + " in " +
                                       std::to_string(left_) + " bytes");
    return n;
  }

 private:
  void take(std::uint64_t n, const std::string& what) {
    if (n > left_)
      throw CheckpointError(path_, "the payload ends inside " + what + " (" + std::to_string(n) + " bytes needed, " +
                                       std::to_string(left_) + " left)");
    left_ -= n;
  }

  MemoryReader& in_;
  boost::archive::binary_iarchive archive_;
  const std::uint8_t* base_;
  std::uint64_t size_, left_;
  Tensor owner_;
  const std::string& path_;
};

Checkpoint read_payload(const std::uint8_t* base, std::uint64_t size, const Tensor& owner, const std::string& path) {
  MemoryReader in(base, static_cast<std::size_t>(size));
  PayloadReader r(in, base, size, owner, path);
  Checkpoint c;
  const std::uint64_t strings = r.count("configuration entries");
  for (std::uint64_t i = 0; i < strings; ++i) {
    std::string key = r.string("a configuration key");
    std::string value = r.string("the configuration value of '" + key + "'");
    if (!c.config.emplace(key, std::move(value)).second)
      throw CheckpointError(path, "configuration key '" + key + "' appears twice");
  }

  std::map<std::string, std::int64_t> counters;
  const std::uint64_t n_counters = r.count("counters");
  for (std::uint64_t i = 0; i < n_counters; ++i) {
    const std::string key = r.string("a counter name");
    if (!counters.emplace(key, r.number<std::int64_t>("counter '" + key + "'")).second)
      throw CheckpointError(path, "counter '" + key + "' appears twice");
  }
  const auto counter = [&](const char* key, bool non_negative) {
    const auto it = counters.find(key);
    if (it == counters.end()) throw CheckpointError(path, std::string("missing counter '") + key + "'");
    if (non_negative && it->second < 0)
      throw CheckpointError(path, std::string("counter '") + key + "' is negative (" + std::to_string(it->second) + ")");
    const std::int64_t v = it->second;
    counters.erase(it);
    return v;
  };
  c.epoch = counter("epoch", true);
  c.step = counter("step", true);
  c.scheduler_count = counter("scheduler.count", true);
  c.rng.seed = static_cast<std::uint64_t>(counter("rng.seed", false));
  c.rng.offset = static_cast<std::uint64_t>(counter("rng.offset", false));
  c.sampler_position = counter("sampler.position", true);
  c.epoch_samples_seen = counter("sampler.epoch_samples_seen", true);
  if (!counters.empty()) throw CheckpointError(path, "unknown counter '" + counters.begin()->first + "'");

  const std::uint64_t tensors = r.count("tensors");
  for (std::uint64_t i = 0; i < tensors; ++i) {
    const std::string key = r.string("a tensor name");
    StateDict* target = nullptr;
    std::string name;
    if (key.rfind("model.", 0) == 0) {
      target = &c.model;
      name = key.substr(6);
    } else if (key.rfind("optimizer.", 0) == 0) {
      target = &c.optimizer;
      name = key.substr(10);
    } else {
      throw CheckpointError(path, "tensor '" + key + "' belongs to neither 'model.' nor 'optimizer.'");
    }
    if (target->contains(name)) throw CheckpointError(path, "tensor '" + key + "' appears twice");
    target->insert(name, r.tensor(key));
  }
  if (r.left() != 0) throw CheckpointError(path, std::to_string(r.left()) + " bytes left over after the last tensor");
  return c;
}

// Runs the payload parser, turning Boost's and the allocator's exceptions into CheckpointErrors naming the file.
Checkpoint parse_payload(const std::uint8_t* base, std::uint64_t size, const Tensor& owner, const std::string& path) {
  try {
    return read_payload(base, size, owner, path);
  } catch (const CheckpointError&) {
    throw;
  } catch (const boost::archive::archive_exception& e) {
    throw CheckpointError(path, std::string("cannot parse the payload: ") + e.what());
  } catch (const std::exception& e) {
    throw CheckpointError(path, std::string("cannot load: ") + e.what());
  }
}

// Whether `path` has a whole header that agrees with the file's size (no payload checksum: that is load's job).
bool has_complete_header(const std::string& path) {
  FileDescriptor f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (f.fd < 0 || ::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  std::array<std::uint8_t, kHeaderSize> header{};
  try {
    if (!read_all(f.fd, reinterpret_cast<char*>(header.data()), kHeaderSize, path)) return false;
    decode_header(header.data(), static_cast<std::uint64_t>(st.st_size), path);
  } catch (const CheckpointError&) {
    return false;
  }
  return true;
}

// The step of a file named checkpoint-<digits>.ckpt, or nullopt for any other name.
std::optional<std::int64_t> checkpoint_step(const std::string& name) {
  const std::string prefix = "checkpoint-", suffix = ".ckpt";
  if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return std::nullopt;
  return std::stoll(digits);
}

// (step, path) of every checkpoint file in `dir`, highest step first.
std::vector<std::pair<std::int64_t, std::string>> checkpoint_files(const std::string& dir) {
  std::vector<std::pair<std::int64_t, std::string>> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (const auto step = checkpoint_step(entry.path().filename().string()); step && entry.is_regular_file())
      out.emplace_back(*step, entry.path().string());
  std::sort(out.begin(), out.end(), std::greater<>());
  return out;
}

}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  try {
    AtomicFile file(path);
    const auto unfinished = encode_header({.payload_size = kUnfinished});
    file.write(unfinished.data(), kHeaderSize);
    HashingFileWriter out(file);
    {
      boost::archive::binary_oarchive ar(out, kArchiveFlags);
      write_payload(ar, out, flatten(ckpt), path);
    }
    out.flush();
    const auto header = encode_header({.payload_size = out.payload_bytes(), .payload_checksum = out.checksum()});
    file.write_at(0, header.data(), kHeaderSize);
    file.commit();
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::exception& e) {
    throw CheckpointError(path, e.what());
  }
}

Checkpoint load_checkpoint(const std::string& path) {
  FileDescriptor f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) throw CheckpointError(path, "cannot open: " + errno_text());
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw CheckpointError(path, "cannot stat: " + errno_text());
  if (!S_ISREG(st.st_mode)) throw CheckpointError(path, "not a regular file");
  const auto file_size = static_cast<std::uint64_t>(st.st_size);

  std::array<std::uint8_t, kHeaderSize> header_bytes{};
  const std::size_t head = static_cast<std::size_t>(std::min<std::uint64_t>(file_size, kHeaderSize));
  if (!read_all(f.fd, reinterpret_cast<char*>(header_bytes.data()), head, path))
    throw CheckpointError(path, "the file shrank while it was read");
  const Header header = decode_header(header_bytes.data(), file_size, path);

  // The whole file goes into one aligned block (the tensors will be views into it), read in pieces that are hashed
  // as they arrive. Nothing is interpreted before the checksum matches.
  Tensor block = Tensor::empty({static_cast<std::int64_t>((file_size + 7) / 8)}, {.dtype = DType::Int64});
  auto* bytes = static_cast<std::uint8_t*>(block.raw_data());
  std::memcpy(bytes, header_bytes.data(), kHeaderSize);
  BackgroundHasher hasher(bytes + kHeaderSize, file_size - kHeaderSize);
  for (std::uint64_t at = kHeaderSize; at < file_size;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(file_size - at, kLoadPieceBytes));
    if (!read_all(f.fd, reinterpret_cast<char*>(bytes + at), n, path)) throw CheckpointError(path, "the file shrank while it was read");
    at += n;
    hasher.filled(at - kHeaderSize);
  }
  if (hasher.digest() != header.payload_checksum) throw CheckpointError(path, "damaged payload (checksum mismatch)");
  return parse_payload(bytes + kHeaderSize, header.payload_size, block, path);
}

Checkpoint parse_checkpoint(std::span<const std::uint8_t> bytes, const std::string& name) {
  const Header header = decode_header(bytes.data(), bytes.size(), name);
  const std::uint8_t* payload = bytes.data() + kHeaderSize;
  if (XXH3_64bits(payload, static_cast<std::size_t>(header.payload_size)) != header.payload_checksum)
    throw CheckpointError(name, "damaged payload (checksum mismatch)");
  return parse_payload(payload, header.payload_size, Tensor(), name);
}

std::string save_checkpoint_to_directory(const std::string& dir, const Checkpoint& ckpt, int keep) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw CheckpointError(dir, "cannot create the checkpoint directory: " + ec.message());
  char name[64];
  std::snprintf(name, sizeof name, "checkpoint-%08lld.ckpt", static_cast<long long>(ckpt.step));
  const std::string path = (std::filesystem::path(dir) / name).string();
  save_checkpoint(path, ckpt);
  const std::string pointer = (std::filesystem::path(dir) / "latest").string();
  try {
    AtomicFile latest(pointer);
    const std::string text = std::string(name) + "\n";
    latest.write(text.data(), text.size());
    latest.commit();
  } catch (const std::exception& e) {
    throw CheckpointError(path, std::string("saved, but the pointer to it was not: ") + e.what());
  }

  // Rotation, only once the new checkpoint and the pointer to it are in place.
  int kept = 1;
  for (const auto& [step, file] : checkpoint_files(dir)) {
    if (file == path) continue;
    if (keep <= 0 || kept < keep) {
      ++kept;
      continue;
    }
    std::filesystem::remove(file, ec);
  }
  for (const std::string& tmp : scan_checkpoint_directory(dir).unfinished) std::filesystem::remove(tmp, ec);
  return path;
}

CheckpointDirectory scan_checkpoint_directory(const std::string& dir) {
  CheckpointDirectory out;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0 &&
        (checkpoint_step(name.substr(0, name.size() - 4)) || name == "latest.tmp"))
      out.unfinished.push_back(entry.path().string());
  }
  std::sort(out.unfinished.begin(), out.unfinished.end());

  std::ifstream pointer(std::filesystem::path(dir) / "latest");
  std::string name;
  if (pointer && std::getline(pointer, name) && checkpoint_step(name)) {
    const std::string path = (std::filesystem::path(dir) / name).string();
    if (has_complete_header(path)) {
      out.latest = path;
      return out;
    }
  }
  for (const auto& [step, path] : checkpoint_files(dir))
    if (has_complete_header(path)) {
      out.latest = path;
      break;
    }
  return out;
}

}  // namespace lamina::nn
