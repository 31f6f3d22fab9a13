// libFuzzer target for the .npz reader. Every input is read twice: as a whole .npz file, which exercises the zip
// structure, and as the one .npy entry of a well-formed zip built around it (with the right CRC-32), so that the
// .npy header parser sees every mutation instead of the CRC check refusing nearly all of them. Besides success,
// the only acceptable outcome is the reader's std::runtime_error naming the file; anything else — another
// exception, a crash, a sanitizer report — is a finding.
#include <zlib.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <lamina/nn/npz.h>

namespace {

void read(const std::vector<std::uint8_t>& bytes) {
  try {
    lamina::nn::parse_npz(bytes, "input");
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).rfind("npz 'input': ", 0) != 0) throw;
  }
}

template <typename T>
void put(std::vector<std::uint8_t>& out, T v) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof v);
}

// A stored zip holding `npy` as "x.npy".
std::vector<std::uint8_t> zip_of(const std::uint8_t* npy, std::uint32_t size) {
  const std::uint32_t crc = static_cast<std::uint32_t>(crc32(0, npy, size));
  std::vector<std::uint8_t> z;
  for (const bool central : {false, true}) {
    put<std::uint32_t>(z, central ? 0x02014b50 : 0x04034b50);
    if (central) put<std::uint16_t>(z, 20);
    for (std::uint16_t v : {20, 0, 0, 0, 0}) put(z, v);  // version needed, flags, method, time, date
    for (std::uint32_t v : {crc, size, size}) put(z, v);
    put<std::uint16_t>(z, 5);  // name length
    put<std::uint16_t>(z, 0);  // extra length
    if (central) {
      for (std::uint16_t v : {0, 0, 0}) put(z, v);  // comment length, disk, internal attributes
      put<std::uint32_t>(z, 0);                     // external attributes
      put<std::uint32_t>(z, 0);                     // local header offset
    }
    for (char c : std::string("x.npy")) z.push_back(static_cast<std::uint8_t>(c));
    if (!central) z.insert(z.end(), npy, npy + size);
  }
  const auto central_size = static_cast<std::uint32_t>(46 + 5), central_offset = static_cast<std::uint32_t>(30 + 5 + size);
  put<std::uint32_t>(z, 0x06054b50);
  for (std::uint16_t v : {0, 0, 1, 1}) put(z, v);
  put(z, central_size);
  put(z, central_offset);
  put<std::uint16_t>(z, 0);
  return z;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  read(std::vector<std::uint8_t>(data, data + size));
  read(zip_of(data, static_cast<std::uint32_t>(size)));
  return 0;
}
