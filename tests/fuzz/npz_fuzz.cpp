// libFuzzer target for the .npz reader. Besides success, the only acceptable outcome is the reader's
// std::runtime_error naming the file; anything else — another exception, a crash, a sanitizer report — is a finding.
#include <cstdint>
#include <stdexcept>
#include <string>

#include <lamina/nn/npz.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    lamina::nn::parse_npz({data, size}, "input");
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).rfind("npz 'input': ", 0) != 0) throw;
  }
  return 0;
}
