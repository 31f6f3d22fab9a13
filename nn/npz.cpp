#include <lamina/nn/npz.h>

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <vector>

#include <lamina/nn/atomic_file.h>

namespace lamina::nn {
namespace {

static_assert(std::endian::native == std::endian::little, "the .npz code reads and writes little-endian words");

constexpr std::uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50, kEndOfDirectory = 0x06054b50;
constexpr std::uint32_t kZip64End = 0x06064b50, kZip64Locator = 0x07064b50;
constexpr std::uint32_t kMax32 = 0xFFFFFFFFu;
constexpr std::uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, zip's epoch: the files carry no time
constexpr std::uint8_t kMaxRank = 16;

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw std::runtime_error("npz '" + path + "': " + problem);
}

const char* descr_of(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "<f4";
    case DType::Float64: return "<f8";
    case DType::Int64: return "<i8";
  }
  return "?";
}

// The .npy header for a C-ordered array: magic, version 1.0, and a Python dict literal padded with spaces so that
// the data starts at a multiple of 64 bytes, as numpy writes it.
std::string npy_header(const Tensor& t) {
  std::string shape = "(";
  for (std::size_t i = 0; i < t.shape().size(); ++i) shape += (i ? ", " : "") + std::to_string(t.shape()[i]);
  shape += t.shape().size() == 1 ? ",)" : ")";
  std::string dict = std::string("{'descr': '") + descr_of(t.dtype()) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const std::size_t total = (10 + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - 10 - dict.size() - 1, ' ');
  dict += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  const auto len = static_cast<std::uint16_t>(dict.size());
  out.append(reinterpret_cast<const char*>(&len), 2);
  return out + dict;
}

class Bytes {
 public:
  template <typename T>
  void put(T v) {
    data_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void put(const std::string& s) { data_ += s; }
  const std::string& str() const { return data_; }

 private:
  std::string data_;
};

struct Entry {
  std::string name;
  std::uint32_t crc = 0;
  std::uint64_t size = 0, offset = 0;
};

// --- reading ---

// Bounds-checked little-endian reads from the file's bytes.
class Reader {
 public:
  Reader(std::span<const std::uint8_t> bytes, const std::string& path) : bytes_(bytes), path_(path) {}
  template <typename T>
  T at(std::uint64_t offset, const char* what) const {
    check(offset, sizeof(T), what);
    T v;
    std::memcpy(&v, bytes_.data() + offset, sizeof v);
    return v;
  }
  void check(std::uint64_t offset, std::uint64_t n, const std::string& what) const {
    if (offset > bytes_.size() || n > bytes_.size() - offset)
      fail(path_, what + " lies outside the file (" + std::to_string(bytes_.size()) + " bytes)");
  }
  const std::uint8_t* ptr(std::uint64_t offset) const { return bytes_.data() + offset; }

 private:
  std::span<const std::uint8_t> bytes_;
  const std::string& path_;
};

// The value following `'key':` in a .npy header dict, up to the next top-level comma or closing brace.
std::string dict_value(const std::string& dict, const std::string& key, const std::string& what) {
  const std::string quoted = "'" + key + "':";
  const auto at = dict.find(quoted);
  if (at == std::string::npos) throw std::runtime_error(what + " has no '" + key + "' in its header");
  std::size_t i = at + quoted.size();
  while (i < dict.size() && dict[i] == ' ') ++i;
  std::size_t end = i;
  int depth = 0;
  for (; end < dict.size(); ++end) {
    const char ch = dict[end];
    if (ch == '(') ++depth;
    if (ch == ')') --depth;
    if (depth == 0 && (ch == ',' || ch == '}')) break;
  }
  return dict.substr(i, end - i);
}

Tensor parse_npy(const std::uint8_t* data, std::uint64_t size, const std::string& what) {
  if (size < 10 || std::memcmp(data, "\x93NUMPY", 6) != 0) throw std::runtime_error(what + " is not a .npy array (bad magic)");
  const std::uint8_t major = data[6];
  std::uint64_t header_len, start;
  if (major == 1) {
    std::uint16_t n;
    std::memcpy(&n, data + 8, 2);
    header_len = n;
    start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) throw std::runtime_error(what + " is truncated in its header");
    std::uint32_t n;
    std::memcpy(&n, data + 8, 4);
    header_len = n;
    start = 12;
  } else {
    throw std::runtime_error(what + " has .npy format version " + std::to_string(major) + " (1 to 3 are read)");
  }
  if (header_len > size - start) throw std::runtime_error(what + " is truncated in its header");
  const std::string dict(reinterpret_cast<const char*>(data + start), static_cast<std::size_t>(header_len));

  const std::string descr = dict_value(dict, "descr", what);
  DType dtype;
  if (descr == "'<f4'") dtype = DType::Float32;
  else if (descr == "'<f8'") dtype = DType::Float64;
  else if (descr == "'<i8'") dtype = DType::Int64;
  else throw std::runtime_error(what + " has dtype " + descr + "; lamina reads '<f4' (float32), '<f8' (float64) and '<i8' (int64)");
  const std::string fortran = dict_value(dict, "fortran_order", what);
  if (fortran != "False") throw std::runtime_error(what + " is not in C order (fortran_order " + fortran + ")");

  const std::string shape_text = dict_value(dict, "shape", what);
  if (shape_text.size() < 2 || shape_text.front() != '(' || shape_text.back() != ')')
    throw std::runtime_error(what + " has a malformed shape " + shape_text);
  // "()", "(3,)", "(3, 4)": integers separated by commas, a trailing comma allowed.
  Shape shape;
  const std::string inner = shape_text.substr(1, shape_text.size() - 2);
  for (std::size_t i = 0; i <= inner.size();) {
    const std::size_t comma = std::min(inner.find(',', i), inner.size());
    std::string item = inner.substr(i, comma - i);
    item.erase(std::remove(item.begin(), item.end(), ' '), item.end());
    const bool digits = !item.empty() && item.size() <= 18 &&
                        std::all_of(item.begin(), item.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    if (digits && shape.size() < kMaxRank) shape.push_back(std::stoll(item));
    else if (!item.empty() || comma != inner.size())  // only the item after a trailing comma may be empty
      throw std::runtime_error(what + " has an unsupported shape " + shape_text);
    i = comma + 1;
  }

  std::uint64_t product = 1;  // zeros left out: an empty array could claim sizes no array can have
  for (std::int64_t d : shape)
    if (d != 0) {
      if (product > static_cast<std::uint64_t>(INT64_MAX) / static_cast<std::uint64_t>(d))
        throw std::runtime_error(what + " has sizes " + shape_text + " whose product overflows");
      product *= static_cast<std::uint64_t>(d);
    }
  const std::uint64_t data_bytes = size - start - header_len;
  std::uint64_t bytes = dtype_size(dtype);
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) bytes = 0;
  for (std::int64_t d : shape) {
    if (bytes == 0) break;
    if (bytes > data_bytes / static_cast<std::uint64_t>(d)) {
      bytes = data_bytes + 1;
      break;
    }
    bytes *= static_cast<std::uint64_t>(d);
  }
  if (bytes != data_bytes)
    throw std::runtime_error(what + " of shape " + shape_str(shape) + " and dtype " + dtype_name(dtype) + " holds " +
                             std::to_string(data_bytes) + " bytes of data, not " +
                             (bytes > data_bytes ? "more than that" : std::to_string(bytes)));
  Tensor t = Tensor::empty(shape, {.dtype = dtype});
  if (bytes) std::memcpy(t.raw_data(), data + start + header_len, static_cast<std::size_t>(bytes));
  return t;
}

std::uint32_t crc_of(const std::uint8_t* data, std::uint64_t n) {
  return static_cast<std::uint32_t>(crc32_z(crc32_z(0, nullptr, 0), data, static_cast<z_size_t>(n)));
}

}  // namespace

void save_npz(const std::string& path, const StateDict& state) {
  try {
    AtomicFile file(path);
    std::vector<Entry> entries;
    for (const auto& [key, t] : state) {
      if (!t.defined() || t.is_deferred())
        fail(path, "cannot save '" + key + "': it is " + (t.defined() ? "not materialized yet" : "undefined"));
      const Tensor c = t.to(Device::cpu()).contiguous();
      const std::string header = npy_header(c);
      const std::uint64_t bytes = static_cast<std::uint64_t>(c.numel()) * dtype_size(c.dtype());
      Entry e{key + ".npy", 0, header.size() + bytes, file.size()};
      if (e.size >= kMax32 || e.offset >= kMax32 || entries.size() >= 0xFFFF)
        fail(path, "the state dict is too large for a zip file without zip64 (4 GiB, 65535 arrays)");
      std::uint32_t crc = static_cast<std::uint32_t>(crc32_z(0, nullptr, 0));
      crc = static_cast<std::uint32_t>(crc32_z(crc, reinterpret_cast<const Bytef*>(header.data()), header.size()));
      crc = static_cast<std::uint32_t>(crc32_z(crc, static_cast<const Bytef*>(c.raw_data()), static_cast<z_size_t>(bytes)));
      e.crc = crc;

      Bytes local;
      local.put(kLocalHeader);
      local.put(std::uint16_t{20});  // version needed: 2.0
      local.put(std::uint16_t{0});   // flags
      local.put(std::uint16_t{0});   // stored
      local.put(std::uint16_t{0});   // time
      local.put(kDosDate);
      local.put(e.crc);
      local.put(static_cast<std::uint32_t>(e.size));
      local.put(static_cast<std::uint32_t>(e.size));
      local.put(static_cast<std::uint16_t>(e.name.size()));
      local.put(std::uint16_t{0});  // extra length
      local.put(e.name);
      local.put(header);
      file.write(local.str().data(), local.str().size());
      file.write(c.raw_data(), static_cast<std::size_t>(bytes));
      entries.push_back(e);
    }
    Bytes directory;
    for (const Entry& e : entries) {
      directory.put(kCentralHeader);
      directory.put(std::uint16_t{20});  // made by: 2.0
      directory.put(std::uint16_t{20});  // needed: 2.0
      directory.put(std::uint16_t{0});
      directory.put(std::uint16_t{0});
      directory.put(std::uint16_t{0});
      directory.put(kDosDate);
      directory.put(e.crc);
      directory.put(static_cast<std::uint32_t>(e.size));
      directory.put(static_cast<std::uint32_t>(e.size));
      directory.put(static_cast<std::uint16_t>(e.name.size()));
      directory.put(std::uint16_t{0});  // extra
      directory.put(std::uint16_t{0});  // comment
      directory.put(std::uint16_t{0});  // disk
      directory.put(std::uint16_t{0});  // internal attributes
      directory.put(std::uint32_t{0});  // external attributes
      directory.put(static_cast<std::uint32_t>(e.offset));
      directory.put(e.name);
    }
    const std::uint64_t directory_offset = file.size(), directory_size = directory.str().size();
    if (directory_offset + directory_size >= kMax32)
      fail(path, "the state dict is too large for a zip file without zip64 (4 GiB, 65535 arrays)");
    directory.put(kEndOfDirectory);
    directory.put(std::uint16_t{0});
    directory.put(std::uint16_t{0});
    directory.put(static_cast<std::uint16_t>(entries.size()));
    directory.put(static_cast<std::uint16_t>(entries.size()));
    directory.put(static_cast<std::uint32_t>(directory_size));
    directory.put(static_cast<std::uint32_t>(directory_offset));
    directory.put(std::uint16_t{0});
    file.write(directory.str().data(), directory.str().size());
    file.commit();
  } catch (const std::exception& e) {
    if (std::string(e.what()).rfind("npz '", 0) == 0) throw;
    fail(path, e.what());
  }
}

StateDict load_npz(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(in.tellg()));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
    fail(path, "cannot read " + std::to_string(bytes.size()) + " bytes");
  return parse_npz(bytes, path);
}

StateDict parse_npz(std::span<const std::uint8_t> bytes, const std::string& path) {
  const Reader r(bytes, path);
  const std::uint64_t file_size = bytes.size();

  // The end-of-central-directory record: the last 22 bytes, or earlier when the archive has a comment.
  if (file_size < 22) fail(path, "not a zip file (" + std::to_string(file_size) + " bytes)");
  std::uint64_t end = file_size - 22;
  for (;;) {
    if (r.at<std::uint32_t>(end, "the end record") == kEndOfDirectory &&
        end + 22 + r.at<std::uint16_t>(end + 20, "the end record") == file_size)
      break;
    if (end == 0 || file_size - end > 22 + 0xFFFF) fail(path, "not a zip file (no end-of-central-directory record)");
    --end;
  }
  std::uint64_t count = r.at<std::uint16_t>(end + 10, "the end record");
  if (r.at<std::uint16_t>(end + 4, "the end record") != 0 || r.at<std::uint16_t>(end + 6, "the end record") != 0 ||
      r.at<std::uint16_t>(end + 8, "the end record") != count)
    fail(path, "a multi-disk (split) zip archive, or a damaged end record");
  std::uint64_t directory_size = r.at<std::uint32_t>(end + 12, "the end record");
  std::uint64_t directory_offset = r.at<std::uint32_t>(end + 16, "the end record");
  if (count == 0xFFFF || directory_offset == kMax32 || directory_size == kMax32) {
    if (end < 20 || r.at<std::uint32_t>(end - 20, "the zip64 locator") != kZip64Locator)
      fail(path, "a zip64 archive without its zip64 locator");
    const auto record = r.at<std::uint64_t>(end - 12, "the zip64 locator");
    if (r.at<std::uint32_t>(record, "the zip64 end record") != kZip64End) fail(path, "a damaged zip64 end record");
    count = r.at<std::uint64_t>(record + 32, "the zip64 end record");
    directory_size = r.at<std::uint64_t>(record + 40, "the zip64 end record");
    directory_offset = r.at<std::uint64_t>(record + 48, "the zip64 end record");
  }

  StateDict out;
  std::uint64_t pos = directory_offset;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (r.at<std::uint32_t>(pos, "a central directory entry") != kCentralHeader)
      fail(path, "damaged central directory (entry " + std::to_string(i) + ")");
    const auto flags = r.at<std::uint16_t>(pos + 8, "a central directory entry");
    const auto method = r.at<std::uint16_t>(pos + 10, "a central directory entry");
    const auto crc = r.at<std::uint32_t>(pos + 16, "a central directory entry");
    std::uint64_t compressed = r.at<std::uint32_t>(pos + 20, "a central directory entry");
    std::uint64_t size = r.at<std::uint32_t>(pos + 24, "a central directory entry");
    const auto name_len = r.at<std::uint16_t>(pos + 28, "a central directory entry");
    const auto extra_len = r.at<std::uint16_t>(pos + 30, "a central directory entry");
    const auto comment_len = r.at<std::uint16_t>(pos + 32, "a central directory entry");
    std::uint64_t local = r.at<std::uint32_t>(pos + 42, "a central directory entry");
    r.check(pos + 46, name_len, "an entry's name");
    const std::string name(reinterpret_cast<const char*>(r.ptr(pos + 46)), name_len);
    // Sizes and offset that do not fit 32 bits are in the zip64 extra field, in this order, when they are all-ones.
    for (std::uint64_t x = pos + 46 + name_len; x + 4 <= pos + 46 + name_len + extra_len;) {
      const auto id = r.at<std::uint16_t>(x, "an extra field");
      const auto len = r.at<std::uint16_t>(x + 2, "an extra field");
      if (id == 0x0001) {
        std::uint64_t f = x + 4;
        if (size == kMax32) {
          size = r.at<std::uint64_t>(f, "a zip64 field");
          f += 8;
        }
        if (compressed == kMax32) {
          compressed = r.at<std::uint64_t>(f, "a zip64 field");
          f += 8;
        }
        if (local == kMax32) local = r.at<std::uint64_t>(f, "a zip64 field");
      }
      x += 4 + len;
    }
    pos += 46 + name_len + extra_len + comment_len;

    const std::string what = "array '" + name + "'";
    if (name.size() < 5 || name.compare(name.size() - 4, 4, ".npy") != 0) fail(path, "entry '" + name + "' is not a .npy array");
    if (flags & 1) fail(path, what + " is encrypted");
    if (r.at<std::uint32_t>(local, "a local header") != kLocalHeader) fail(path, what + ": damaged local header");
    const auto local_name_len = r.at<std::uint16_t>(local + 26, "a local header");
    r.check(local + 30, local_name_len, what + "'s local header");
    if (std::string(reinterpret_cast<const char*>(r.ptr(local + 30)), local_name_len) != name)
      fail(path, what + ": the local header names another file (damaged names)");
    const std::uint64_t data = local + 30 + local_name_len + r.at<std::uint16_t>(local + 28, "a local header");
    r.check(data, compressed, what + "'s data");

    std::vector<std::uint8_t> inflated;
    const std::uint8_t* npy = r.ptr(data);
    if (method == 8) {
      // Deflate expands at most ~1032:1; a larger claim is damage, refused before allocating it.
      if (size > compressed * 1032 + 1024) fail(path, what + " claims " + std::to_string(size) + " bytes from " + std::to_string(compressed) + " compressed");
      inflated.resize(static_cast<std::size_t>(size));
      z_stream z{};
      if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail(path, "zlib inflateInit2 failed");
      z.next_in = const_cast<Bytef*>(npy);
      z.avail_in = static_cast<uInt>(std::min<std::uint64_t>(compressed, std::numeric_limits<uInt>::max()));
      z.next_out = inflated.data();
      z.avail_out = static_cast<uInt>(std::min<std::uint64_t>(size, std::numeric_limits<uInt>::max()));
      const int rc = inflate(&z, Z_FINISH);
      const std::uint64_t produced = z.total_out;
      inflateEnd(&z);
      if (rc != Z_STREAM_END || produced != size) fail(path, what + ": damaged compressed data");
      npy = inflated.data();
    } else if (method != 0) {
      fail(path, what + " uses compression method " + std::to_string(method) + " (stored and deflate are read)");
    } else if (compressed != size) {
      fail(path, what + " is stored with different compressed and uncompressed sizes");
    }
    if (crc_of(npy, size) != crc) fail(path, what + ": CRC-32 mismatch (damaged data)");

    const std::string key = name.substr(0, name.size() - 4);
    if (out.contains(key)) fail(path, what + " appears twice");
    try {
      out.insert(key, parse_npy(npy, size, what));
    } catch (const std::exception& e) {
      fail(path, e.what());
    }
  }
  if (pos != directory_offset + directory_size)
    fail(path, "the central directory holds " + std::to_string(pos - directory_offset) + " bytes for " +
                   std::to_string(count) + " entries, not the " + std::to_string(directory_size) + " announced");
  return out;
}

}  // namespace lamina::nn
