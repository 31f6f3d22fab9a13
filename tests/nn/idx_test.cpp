#include <gtest/gtest.h>

#include <algorithm>

#include <lamina/nn/idx.h>

#include "nn/idx_files.h"

using namespace lamina;
using namespace lamina::testing;

namespace {
const std::vector<std::uint8_t> kPixels = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255};  // 3 images of 2x2
}

TEST(Idx, ReadsGzippedImagesAndLabels) {
  ScratchDir dir;
  write_gz(dir.file("images.gz"), idx_bytes(2051, {3, 2, 2}, kPixels));
  write_gz(dir.file("labels.gz"), idx_bytes(2049, {3}, {7, 0, 9}));
  const nn::IdxArray images = nn::read_idx_images(dir.file("images.gz"));
  EXPECT_EQ(images.dims, (std::vector<std::int64_t>{3, 2, 2}));
  EXPECT_EQ(images.data, kPixels);
  const nn::IdxArray labels = nn::read_idx_labels(dir.file("labels.gz"), 10);
  EXPECT_EQ(labels.dims, (std::vector<std::int64_t>{3}));
  EXPECT_EQ(labels.data, (std::vector<std::uint8_t>{7, 0, 9}));
}

TEST(Idx, ReadsAnUncompressedFile) {
  ScratchDir dir;
  write_file(dir.file("images"), idx_bytes(2051, {3, 2, 2}, kPixels));
  EXPECT_EQ(nn::read_idx_images(dir.file("images")).data, kPixels);
}

TEST(Idx, MissingFileNamesIt) {
  ScratchDir dir;
  const std::string path = dir.file("no-such-file.gz");
  const std::string msg = error_of([&] { nn::read_idx_images(path); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_TRUE(contains(msg, "cannot open")) << msg;
  EXPECT_TRUE(contains(msg, "No such file")) << msg;
}

TEST(Idx, FewerBytesThanTheHeaderPromises) {
  ScratchDir dir;
  const std::string path = dir.file("short.gz");
  write_gz(path, idx_bytes(2051, {4, 2, 2}, kPixels));  // 16 promised, 12 present
  const std::string msg = error_of([&] { nn::read_idx_images(path); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_TRUE(contains(msg, "truncated: the header promises 16 bytes of data, the file holds 12")) << msg;
}

TEST(Idx, CutOffGzipStream) {
  ScratchDir dir;
  const std::string path = dir.file("cut.gz");
  std::vector<std::uint8_t> pixels(4000);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>(i * 7919 % 251);
  write_gz(path, idx_bytes(2051, {10, 20, 20}, pixels));
  std::vector<std::uint8_t> bytes = read_file(path);
  bytes.resize(bytes.size() / 2);
  write_file(path, bytes);
  const std::string msg = error_of([&] { nn::read_idx_images(path); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_TRUE(contains(msg, "truncated")) << msg;
  EXPECT_TRUE(contains(msg, "the gzip stream ends early")) << msg;
}

TEST(Idx, GzipStreamWithoutItsTrailer) {
  ScratchDir dir;
  const std::string path = dir.file("no-trailer.gz");
  write_gz(path, idx_bytes(2051, {3, 2, 2}, kPixels), "wb0");
  std::vector<std::uint8_t> bytes = read_file(path);
  bytes.resize(bytes.size() - 8);  // the CRC-32 and length words
  write_file(path, bytes);
  const std::string msg = error_of([&] { nn::read_idx_images(path); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_TRUE(contains(msg, "truncated after the last element")) << msg;
}

TEST(Idx, HeaderCutShort) {
  ScratchDir dir;
  const std::string path = dir.file("header.gz");
  write_gz(path, {0, 0, 8, 3, 0, 0});
  const std::string msg = error_of([&] { nn::read_idx_images(path); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_TRUE(contains(msg, "truncated: no complete header")) << msg;
}

TEST(Idx, EmptyFile) {
  ScratchDir dir;
  const std::string path = dir.file("empty.gz");
  write_file(path, {});
  const std::string msg = error_of([&] { nn::read_idx_labels(path, 10); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_TRUE(contains(msg, "truncated: no complete header")) << msg;
}

TEST(Idx, MoreBytesThanTheHeaderPromises) {
  ScratchDir dir;
  const std::string path = dir.file("long.gz");
  write_gz(path, idx_bytes(2051, {2, 2, 2}, kPixels));  // 8 promised, 12 present
  const std::string msg = error_of([&] { nn::read_idx_images(path); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_TRUE(contains(msg, "more bytes than the header promises (8 bytes of data, then at least 4 more)")) << msg;
}

TEST(Idx, BadMagic) {
  ScratchDir dir;
  const std::string path = dir.file("labels-as-images.gz");
  write_gz(path, idx_bytes(2049, {3}, {1, 2, 3}));
  const std::string msg = error_of([&] { nn::read_idx_images(path); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_TRUE(contains(msg, "bad magic number 2049, expected 2051")) << msg;
}

TEST(Idx, NotAnIdxFileAtAll) {
  ScratchDir dir;
  const std::string path = dir.file("text.gz");
  const std::string text = "hello, this is not an IDX file\n";
  write_gz(path, std::vector<std::uint8_t>(text.begin(), text.end()));
  const std::string msg = error_of([&] { nn::read_idx_labels(path, 10); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_TRUE(contains(msg, "bad magic number")) << msg;
}

TEST(Idx, DamagedGzipData) {
  ScratchDir dir;
  const std::string path = dir.file("flipped.gz");
  // Stored (uncompressed) deflate blocks: a flipped payload byte keeps every length intact, so only the CRC can
  // catch it.
  write_gz(path, idx_bytes(2051, {3, 2, 2}, kPixels), "wb0");
  std::vector<std::uint8_t> bytes = read_file(path);
  const auto at = std::search(bytes.begin(), bytes.end(), kPixels.begin(), kPixels.end());
  ASSERT_NE(at, bytes.end());
  *(at + 5) ^= 0x40;
  write_file(path, bytes);
  const std::string msg = error_of([&] { nn::read_idx_images(path); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_TRUE(contains(msg, "damaged gzip data (incorrect data check)")) << msg;
}

TEST(Idx, DamagedDeflateStream) {
  ScratchDir dir;
  const std::string path = dir.file("garbled.gz");
  std::vector<std::uint8_t> pixels(4000);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>(i * 7919 % 251);
  write_gz(path, idx_bytes(2051, {10, 20, 20}, pixels));
  std::vector<std::uint8_t> bytes = read_file(path);
  for (std::size_t i = 20; i < bytes.size() - 8; ++i) bytes[i] = 0xFF;  // everything after the first block header
  write_file(path, bytes);
  const std::string msg = error_of([&] { nn::read_idx_images(path); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_TRUE(contains(msg, "damaged gzip data")) << msg;
}

TEST(Idx, HugeDimensionsAreRejectedBeforeAllocating) {
  ScratchDir dir;
  const std::string path = dir.file("huge.gz");
  write_gz(path, idx_bytes(2051, {4000000000u, 60000, 28}, kPixels));
  const std::string msg = error_of([&] { nn::read_idx_images(path); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_TRUE(contains(msg, "the header is damaged")) << msg;
}

TEST(Idx, LabelOutOfRange) {
  ScratchDir dir;
  const std::string path = dir.file("labels.gz");
  write_gz(path, idx_bytes(2049, {4}, {3, 9, 10, 200}));
  const std::string msg = error_of([&] { nn::read_idx_labels(path, 10); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_TRUE(contains(msg, "label 10 at index 2 is outside 0..9")) << msg;
  EXPECT_EQ(nn::read_idx_labels(path, 201).data, (std::vector<std::uint8_t>{3, 9, 10, 200}));
}
