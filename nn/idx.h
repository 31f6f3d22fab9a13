#pragma once
// A reader for IDX files, the format of MNIST and Fashion-MNIST: a big-endian header (magic number, then one
// 32-bit size per dimension) followed by the elements in row-major order. Only unsigned-byte arrays are read.
// Files may be gzipped (as Debian ships them) or plain: zlib reads both.
#include <cstdint>
#include <string>
#include <vector>

namespace lamina::nn {

// The magic number is 0x0000TTNN: element type TT (0x08 = unsigned byte) and NN dimensions.
inline constexpr std::uint32_t kIdxImagesMagic = 2051;  // 0x00000803: unsigned bytes, [count, rows, cols]
inline constexpr std::uint32_t kIdxLabelsMagic = 2049;  // 0x00000801: unsigned bytes, [count]

struct IdxArray {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> data;  // row-major, the product of dims bytes
};

// Reads the IDX file at `path`, whose magic number must be `magic`, and checks that the file holds exactly the
// bytes its header promises. Every problem (missing file, damaged gzip data, wrong magic, too few or too many
// bytes) is a std::runtime_error whose message names the file and says what is wrong.
IdxArray read_idx(const std::string& path, std::uint32_t magic);
// An image file: dims [count, rows, cols].
IdxArray read_idx_images(const std::string& path);
// A label file: dims [count], every label below `num_classes` (an error names the first one that is not).
IdxArray read_idx_labels(const std::string& path, int num_classes);

}  // namespace lamina::nn
