#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include <lamina/lamina.h>
#include <lamina/nn/checkpoint.h>
#include <lamina/nn/fingerprint.h>
#include <lamina/nn/npz.h>
#include <lamina/nn/restore.h>

#include "nn/idx_files.h"

using namespace lamina;
using namespace lamina::testing;

namespace {

// Values both sides compute from a formula, so neither side's reader is checked against its own writer.
nn::StateDict formula_state() {
  nn::StateDict s;
  s.insert("layer.weight", (arange(0, 12) * 0.25 - 1.0).reshape({3, 4}));  // float32
  s.insert("layer.bias", from_vector<double>({1.0 / 3, -2.0 / 3, 1e-300}, {3}));
  s.insert("bn.num_batches_tracked", scalar_tensor(7, {.dtype = DType::Int64}));
  s.insert("empty", zeros({0, 5}));
  s.insert("transposed", arange(0, 6).reshape({2, 3}).t());  // a non-contiguous view: saved in C order
  return s;
}

// The same values in numpy, and a check of a loaded file `d` against them.
const char* kPythonFormula = R"(
import sys
import numpy as np
expected = {
    "layer.weight": (np.arange(12, dtype=np.float32) * np.float32(0.25) - np.float32(1)).reshape(3, 4),
    "layer.bias": np.array([1 / 3, -2 / 3, 1e-300], dtype=np.float64),
    "bn.num_batches_tracked": np.array(7, dtype=np.int64),
    "empty": np.zeros((0, 5), dtype=np.float32),
    "transposed": np.arange(6, dtype=np.float32).reshape(2, 3).T.copy(),
}
)";

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && nn::fingerprint({a}) == nn::fingerprint({b});
}

void expect_same(const nn::StateDict& a, const nn::StateDict& b) {
  ASSERT_EQ(a.keys(), b.keys());
  for (const auto& [k, t] : a) EXPECT_TRUE(same_bits(t, b.at(k))) << k;
}

// Runs a Python script with Debian's python3 and numpy; returns its exit status.
int python(const ScratchDir& dir, const std::string& script, const std::string& args) {
  const std::string file = dir.file("script.py");
  std::ofstream(file) << kPythonFormula << script;
  return std::system(("/usr/bin/python3 " + file + " " + args).c_str());
}

}  // namespace

TEST(Npz, RoundTripIsBitwise) {
  ScratchDir dir;
  const nn::StateDict s = formula_state();
  nn::save_npz(dir.file("s.npz"), s);
  const nn::StateDict back = nn::load_npz(dir.file("s.npz"));
  // Keys come back in the file's order, which is the state's.
  expect_same(s, back);
  EXPECT_EQ(back.at("transposed").to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST(Npz, NumpyReadsTheExport) {
  ScratchDir dir;
  nn::save_npz(dir.file("lamina.npz"), formula_state());
  const int status = python(dir, R"(
d = np.load(sys.argv[1])
assert sorted(d.keys()) == sorted(expected.keys()), sorted(d.keys())
for k, v in expected.items():
    assert d[k].dtype == v.dtype and d[k].shape == v.shape and np.array_equal(d[k], v), (k, d[k], v)
)", dir.file("lamina.npz"));
  EXPECT_EQ(status, 0);
}

TEST(Npz, ReadsWhatNumpyWrote) {
  ScratchDir dir;
  ASSERT_EQ(python(dir, R"(
np.savez(sys.argv[1], **expected)             # stored, with zip64 local records
np.savez_compressed(sys.argv[2], **expected)  # deflated
np.savez(sys.argv[3], half=np.ones(3, dtype=np.float16))
np.savez(sys.argv[4], f=np.asfortranarray(np.ones((2, 3), dtype=np.float32)))
)", dir.file("stored.npz") + " " + dir.file("deflated.npz") + " " + dir.file("half.npz") + " " + dir.file("fortran.npz")),
            0);
  const nn::StateDict expected = formula_state();
  nn::StateDict expected_contiguous;
  for (const auto& [k, t] : expected) expected_contiguous.insert(k, t.contiguous());
  for (const char* name : {"stored.npz", "deflated.npz"}) {
    const nn::StateDict loaded = nn::load_npz(dir.file(name));
    ASSERT_EQ(loaded.size(), expected.size()) << name;
    for (const auto& [k, t] : expected_contiguous) EXPECT_TRUE(same_bits(t, loaded.at(k))) << name << " " << k;
  }
  std::string msg = error_of([&] { nn::load_npz(dir.file("half.npz")); });
  EXPECT_EQ(msg, "npz '" + dir.file("half.npz") + "': array 'half.npy' has dtype '<f2'; lamina reads '<f4' (float32), '<f8' (float64) and '<i8' (int64)");
  msg = error_of([&] { nn::load_npz(dir.file("fortran.npz")); });
  EXPECT_TRUE(contains(msg, "array 'f.npy' is not in C order (fortran_order True)")) << msg;
}

TEST(Npz, ImportIntoAModelIsStrict) {
  ScratchDir dir;
  manual_seed(3);
  nn::Sequential model(nn::Linear(4, nn::LinearOptions{.in_features = 3}));
  nn::save_npz(dir.file("m.npz"), model.state_dict());
  nn::Sequential other(nn::Linear(4, nn::LinearOptions{.in_features = 3}));
  nn::load_model_state(other, nn::load_npz(dir.file("m.npz")), dir.file("m.npz"));
  EXPECT_EQ(nn::fingerprint(other.parameters()), nn::fingerprint(model.parameters()));

  nn::Sequential wider(nn::Linear(5, nn::LinearOptions{.in_features = 3}));
  const auto before = nn::fingerprint(wider.parameters());
  const std::string msg = error_of([&] { nn::load_model_state(wider, nn::load_npz(dir.file("m.npz")), dir.file("m.npz")); });
  EXPECT_EQ(msg, std::string(1, '\'') + dir.file("m.npz") + "': load_state_dict: the state does not match the model; shape mismatch: "
                 "0.weight (checkpoint [4, 3], model [5, 3]) 0.bias (checkpoint [4], model [5])");
  EXPECT_EQ(nn::fingerprint(wider.parameters()), before);
}

TEST(Npz, DamageIsAnErrorOrHarmlessNeverWrongData) {
  ScratchDir dir;
  const nn::StateDict s = formula_state();
  nn::save_npz(dir.file("good.npz"), s);
  const auto bytes = read_file(dir.file("good.npz"));
  const std::string path = dir.file("bad.npz");
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    write_file(path, std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n)));
    const std::string msg = error_of([&] { nn::load_npz(path); });
    ASSERT_TRUE(contains(msg, "npz '" + path + "': ")) << "truncated to " << n << ": " << msg;
  }
  // Zip has fields no reader needs (times, "version made by", attributes, the local copies of sizes and CRC): a flip
  // there changes nothing. Anything else is refused.
  nn::StateDict contiguous;
  for (const auto& [k, t] : s) contiguous.insert(k, t.contiguous());
  int refused = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto damaged = bytes;
    damaged[i] ^= 0x41;
    write_file(path, damaged);
    try {
      const nn::StateDict loaded = nn::load_npz(path);
      expect_same(contiguous, loaded);
      ASSERT_FALSE(::testing::Test::HasFailure()) << "a flip of byte " << i << " loaded wrong data";
    } catch (const std::exception& e) {
      ASSERT_TRUE(contains(e.what(), "npz '" + path + "': ")) << i << ": " << e.what();
      ++refused;
    }
  }
  EXPECT_GT(refused, static_cast<int>(bytes.size()) * 3 / 4);
}

TEST(Npz, SaveErrorsNameThePath) {
  ScratchDir dir;
  std::string msg = error_of([&] { nn::save_npz(dir.file("missing/x.npz"), formula_state()); });
  EXPECT_EQ(msg, "npz '" + dir.file("missing/x.npz") + "': cannot create '" + dir.file("missing/x.npz.tmp") +
                     "': No such file or directory");
  nn::StateDict s;
  s.insert("undefined", Tensor());
  msg = error_of([&] { nn::save_npz(dir.file("x.npz"), s); });
  EXPECT_EQ(msg, "npz '" + dir.file("x.npz") + "': cannot save 'undefined': it is undefined");
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.npz")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.npz.tmp")));
}
