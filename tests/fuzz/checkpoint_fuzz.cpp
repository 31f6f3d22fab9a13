// libFuzzer target for the checkpoint reader (build with -DLAMINA_FUZZ=ON and clang; see tests/fuzz/CMakeLists.txt).
//
// Every input is read twice: as it is, which exercises the header checks, and with its header rewritten to match
// the rest (magic, version 1, payload size and both checksums), so that the payload parser sees every mutation
// instead of the checksum refusing nearly all of them. The only acceptable outcome besides success is a
// CheckpointError: any other exception, a crash or a sanitizer report is a finding.
#include <xxhash.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include <lamina/nn/checkpoint.h>

using namespace lamina;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    nn::parse_checkpoint({data, size}, "input");
  } catch (const nn::CheckpointError&) {
  }
  if (size < 40) return 0;
  std::vector<std::uint8_t> fixed(data, data + size);
  const std::uint32_t version = nn::kCheckpointFormatVersion, reserved = 0;
  const std::uint64_t payload = size - 40, checksum = XXH3_64bits(fixed.data() + 40, payload);
  std::memcpy(fixed.data(), "LAMINACK", 8);
  std::memcpy(fixed.data() + 8, &version, 4);
  std::memcpy(fixed.data() + 12, &reserved, 4);
  std::memcpy(fixed.data() + 16, &payload, 8);
  std::memcpy(fixed.data() + 24, &checksum, 8);
  const std::uint64_t header_checksum = XXH3_64bits(fixed.data(), 32);
  std::memcpy(fixed.data() + 32, &header_checksum, 8);
  try {
    nn::parse_checkpoint(fixed, "input");
  } catch (const nn::CheckpointError&) {
  }
  return 0;
}
