#include <gtest/gtest.h>
#include <xxhash.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <lamina/lamina.h>
#include <lamina/nn/batch_norm.h>
#include <lamina/nn/checkpoint.h>
#include <lamina/nn/dropout.h>
#include <lamina/nn/fingerprint.h>
#include <lamina/nn/lr_scheduler.h>
#include <lamina/nn/restore.h>
#include <lamina/nn/sgd.h>

#include "nn/idx_files.h"

using namespace lamina;
using namespace lamina::testing;

namespace {

// Linear, BatchNorm (float buffers and an int64 counter), Dropout (draws from the default generator), Linear.
std::shared_ptr<nn::Sequential> small_model(std::uint64_t seed) {
  manual_seed(seed);
  auto model = std::make_shared<nn::Sequential>(nn::Linear(8, nn::LinearOptions{.in_features = 4, .activation = nn::Activation::ReLU}),
                                                nn::BatchNorm1d(8), nn::Dropout(0.25),
                                                nn::Linear(3, nn::LinearOptions{.in_features = 8}));
  return model;
}

// A model with other names and shapes.
std::shared_ptr<nn::Sequential> other_model() {
  return std::make_shared<nn::Sequential>(nn::Linear(5, nn::LinearOptions{.in_features = 4}),
                                          nn::Linear(3, nn::LinearOptions{.in_features = 5}));
}

struct Trainer {
  explicit Trainer(std::uint64_t seed = 1) : model(small_model(seed)) {}
  std::shared_ptr<nn::Sequential> model;
  nn::SGD optimizer{model->named_parameters(), nn::SgdOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true}};
  nn::StepLR schedule{optimizer, 2, 0.5};

  void steps(int n) {
    for (int k = 0; k < n; ++k) {
      const Tensor x = rand({6, 4}, {}, -1, 1);
      const Tensor y = from_vector<std::int64_t>({0, 1, 2, 0, 1, 2}, {6});
      optimizer.zero_grad();
      cross_entropy((*model)(x), y).backward();
      optimizer.step();
      schedule.step();
    }
  }

  nn::Checkpoint checkpoint() const {
    nn::Checkpoint c;
    c.model = model->state_dict();
    c.optimizer = optimizer.state_dict();
    c.scheduler_count = schedule.count();
    c.epoch = 3;
    c.step = optimizer.steps();
    c.rng = default_generator().state();
    c.sampler_position = 5;
    c.epoch_samples_seen = 10;
    c.config = {{"model", "small"}, {"global_batch", "6"}, {"world_size", "2"}};
    return c;
  }
};

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && nn::fingerprint({a}) == nn::fingerprint({b});
}

void expect_same_state(const nn::StateDict& a, const nn::StateDict& b) {
  ASSERT_EQ(a.keys(), b.keys());
  for (const auto& [name, t] : a) EXPECT_TRUE(same_bits(t, b.at(name))) << name;
}

std::uint64_t model_fingerprint(const nn::Module& m) {
  std::vector<Tensor> all;
  for (const auto& [name, t] : m.state_dict()) all.push_back(t);
  return nn::fingerprint(all);
}

std::string load_error(const std::string& path) {
  return error_of([&] { nn::load_checkpoint(path); });
}

// Builds checkpoint files byte by byte, in the layout nn/checkpoint.h documents, with correct checksums: the way
// to hand the parser content that passes every header check.
struct FileBuilder {
  std::vector<std::uint8_t> payload;
  void u8(std::uint8_t v) { payload.push_back(v); }
  void u64(std::uint64_t v) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    payload.insert(payload.end(), p, p + 8);
  }
  void str(const std::string& s) {
    u64(s.size());
    payload.insert(payload.end(), s.begin(), s.end());
  }
  // A valid counters section with all seven counters zero.
  void counters() {
    u64(7);
    for (const char* k : {"epoch", "step", "scheduler.count", "rng.seed", "rng.offset", "sampler.position",
                          "sampler.epoch_samples_seen"}) {
      str(k);
      u64(0);
    }
  }
  std::vector<std::uint8_t> file(std::uint32_t version = nn::kCheckpointFormatVersion) const {
    std::vector<std::uint8_t> out(40, 0);
    std::memcpy(out.data(), "LAMINACK", 8);
    std::memcpy(out.data() + 8, &version, 4);
    const std::uint64_t size = payload.size(), checksum = XXH3_64bits(payload.data(), payload.size());
    std::memcpy(out.data() + 16, &size, 8);
    std::memcpy(out.data() + 24, &checksum, 8);
    const std::uint64_t header_checksum = XXH3_64bits(out.data(), 32);
    std::memcpy(out.data() + 32, &header_checksum, 8);
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
  }
};

}  // namespace

TEST(Checkpoint, RoundTripIsBitwise) {
  ScratchDir dir;
  Trainer run;
  run.steps(3);
  nn::Checkpoint saved = run.checkpoint();
  saved.model.insert("extra.float64", from_vector<double>({1.0 / 3, -2.5e300}, {2}));
  saved.model.insert("extra.empty", zeros({0, 7}));
  saved.model.insert("extra.transposed", arange(0, 6).reshape({2, 3}).t());  // a non-contiguous view
  saved.rng = {~std::uint64_t{0} - 5, std::uint64_t{1} << 63};
  const std::string path = dir.file("a.ckpt");
  nn::save_checkpoint(path, saved);

  const nn::Checkpoint loaded = nn::load_checkpoint(path);
  expect_same_state(saved.model, loaded.model);
  expect_same_state(saved.optimizer, loaded.optimizer);
  EXPECT_EQ(loaded.model.at("extra.transposed").to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(loaded.model.at("1.num_batches_tracked").dtype(), DType::Int64);
  EXPECT_EQ(loaded.model.at("1.num_batches_tracked").item<std::int64_t>(), 3);
  EXPECT_EQ(loaded.scheduler_count, 3);
  EXPECT_EQ(loaded.epoch, 3);
  EXPECT_EQ(loaded.step, 3);
  EXPECT_EQ(loaded.rng, saved.rng);
  EXPECT_EQ(loaded.sampler_state(), (nn::SamplerState{3, 5}));
  EXPECT_EQ(loaded.epoch_samples_seen, 10);
  EXPECT_EQ(loaded.config, saved.config);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  // Loaded tensors are views into the file's block, each starting on a 64-byte boundary.
  for (const auto& [name, t] : loaded.model) {
    if (t.numel() == 0) continue;
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.raw_data()) % 64, 0u) << name;
  }

  // The in-memory reader agrees.
  const nn::Checkpoint parsed = nn::parse_checkpoint(read_file(path), "memory");
  expect_same_state(saved.model, parsed.model);
}

TEST(Checkpoint, ResumeContinuesExactlyIncludingDropoutAndSchedule) {
  ScratchDir dir;
  Trainer straight;
  straight.steps(3);
  nn::save_checkpoint(dir.file("c.ckpt"), straight.checkpoint());
  straight.steps(4);
  const GeneratorState straight_rng = default_generator().state();

  Trainer resumed(7);  // another initialization and generator state, until restored
  nn::restore_checkpoint(nn::load_checkpoint(dir.file("c.ckpt")), dir.file("c.ckpt"), *resumed.model,
                         &resumed.optimizer, &resumed.schedule);
  EXPECT_EQ(resumed.optimizer.lr(), 0.1 * 0.5);  // StepLR(2, 0.5) at count 3
  resumed.steps(4);
  EXPECT_EQ(model_fingerprint(*resumed.model), model_fingerprint(*straight.model));
  EXPECT_EQ(resumed.optimizer.lr(), straight.optimizer.lr());
  EXPECT_EQ(default_generator().state(), straight_rng);
}

TEST(Checkpoint, MissingFileNamesIt) {
  const std::string msg = load_error("/nonexistent/dir/x.ckpt");
  EXPECT_TRUE(contains(msg, "checkpoint '/nonexistent/dir/x.ckpt': cannot open: No such file or directory")) << msg;
}

TEST(Checkpoint, EveryTruncationIsRefused) {
  ScratchDir dir;
  Trainer run;
  run.steps(1);
  nn::save_checkpoint(dir.file("full.ckpt"), run.checkpoint());
  const auto bytes = read_file(dir.file("full.ckpt"));
  const std::string path = dir.file("cut.ckpt");
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    write_file(path, std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n)));
    const std::string msg = load_error(path);
    ASSERT_TRUE(contains(msg, "checkpoint '" + path + "': truncated")) << n << ": " << msg;
  }
  // And bytes appended to a whole file.
  auto longer = bytes;
  longer.push_back(0);
  write_file(path, longer);
  EXPECT_TRUE(contains(load_error(path), "1 unexpected bytes after the")) << load_error(path);
}

TEST(Checkpoint, EveryByteFlipIsRefused) {
  ScratchDir dir;
  Trainer run;
  run.steps(1);
  nn::save_checkpoint(dir.file("good.ckpt"), run.checkpoint());
  const auto bytes = read_file(dir.file("good.ckpt"));
  ASSERT_LT(bytes.size(), 4096u);  // small enough to try every position on disk
  const std::string path = dir.file("bad.ckpt");
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto damaged = bytes;
    damaged[i] ^= 0xFF;
    write_file(path, damaged);
    const std::string msg = load_error(path);
    ASSERT_TRUE(contains(msg, "checkpoint '" + path + "': ")) << i << ": " << msg;
    if (i >= 40) {
      ASSERT_TRUE(contains(msg, "damaged payload (checksum mismatch)")) << i << ": " << msg;
    }
    // Every single-bit flip too, through the in-memory reader.
    for (int bit = 0; bit < 8; ++bit) {
      damaged = bytes;
      damaged[i] ^= static_cast<std::uint8_t>(1u << bit);
      ASSERT_FALSE(error_of([&] { nn::parse_checkpoint(damaged, "mem"); }).empty()) << i << " bit " << bit;
    }
  }
}

TEST(Checkpoint, SampledFlipsInALargerFileAreRefused) {
  ScratchDir dir;
  auto model = std::make_shared<nn::Sequential>(nn::Linear(256, nn::LinearOptions{.in_features = 256}));
  nn::Checkpoint c;
  c.model = model->state_dict();
  nn::save_checkpoint(dir.file("big.ckpt"), c);
  const auto bytes = read_file(dir.file("big.ckpt"));
  ASSERT_GT(bytes.size(), 256u * 1024);
  const std::string path = dir.file("bad.ckpt");
  Generator gen(5);
  for (int k = 0; k < 300; ++k) {
    const auto i = static_cast<std::size_t>(rand({1}, {.dtype = DType::Float64}, 0, 1, &gen).item() * static_cast<double>(bytes.size()));
    auto damaged = bytes;
    damaged[i] ^= 0x10;
    write_file(path, damaged);
    const std::string msg = load_error(path);
    ASSERT_TRUE(contains(msg, "checkpoint '" + path + "': ")) << i << ": " << msg;
  }
}

TEST(Checkpoint, HeaderProblemsAreNamed) {
  ScratchDir dir;
  const std::string path = dir.file("h.ckpt");
  write_file(path, {'P', 'K', 3, 4});
  EXPECT_TRUE(contains(load_error(path), "truncated: 4 bytes, shorter than the 40-byte header"));
  write_file(path, std::vector<std::uint8_t>(64, 'x'));
  EXPECT_TRUE(contains(load_error(path), "not a lamina checkpoint (bad magic)"));

  FileBuilder b;
  b.u64(0);
  b.counters();
  b.u64(0);
  write_file(path, b.file());
  EXPECT_EQ(load_error(path), "");  // the builder's minimal file is valid
  write_file(path, b.file(2));
  EXPECT_EQ(load_error(path), "checkpoint '" + path + "': format version 2 is newer than this build of lamina reads (up to 1)");
  write_file(path, b.file(0));
  EXPECT_TRUE(contains(load_error(path), "invalid format version 0"));
}

TEST(Checkpoint, PayloadLengthsAreCheckedBeforeAllocating) {
  ScratchDir dir;
  const std::string path = dir.file("p.ckpt");
  auto error_for = [&](const FileBuilder& b) {
    write_file(path, b.file());
    return load_error(path);
  };
  {  // A tensor claiming 2^62 float32 elements in a tiny file: refused from its shape, nothing allocated.
    FileBuilder b;
    b.u64(0);
    b.counters();
    b.u64(1);
    b.str("model.w");
    b.u8(1);
    b.u8(2);
    b.u64(std::uint64_t{1} << 31);
    b.u64(std::uint64_t{1} << 31);
    const std::string msg = error_for(b);
    EXPECT_TRUE(contains(msg, "tensor 'model.w' of shape [2147483648, 2147483648] and dtype float32 needs more than the 0 bytes left")) << msg;
  }
  {  // An empty tensor whose other sizes multiply past int64 (found by the fuzzer: it overflowed in Tensor::empty).
    FileBuilder b;
    b.u64(0);
    b.counters();
    b.u64(1);
    b.str("model.w");
    b.u8(1);
    b.u8(3);
    b.u64(std::uint64_t{1} << 40);
    b.u64(std::uint64_t{1} << 40);
    b.u64(0);
    const std::string msg = error_for(b);
    EXPECT_TRUE(contains(msg, "tensor 'model.w' has sizes [1099511627776, 1099511627776, 0] whose product overflows")) << msg;
  }
  {  // A string length of 2^60.
    FileBuilder b;
    b.u64(1);
    b.u64(std::uint64_t{1} << 60);
    const std::string msg = error_for(b);
    EXPECT_TRUE(contains(msg, "the payload ends inside a configuration key (1152921504606846976 bytes needed, 0 left)")) << msg;
  }
  {  // A list count larger than the bytes left.
    FileBuilder b;
    b.u64(~std::uint64_t{0});
    const std::string msg = error_for(b);
    EXPECT_TRUE(contains(msg, "the payload claims 18446744073709551615 configuration entries in 0 bytes")) << msg;
  }
  {  // Unknown dtype, negative size, unknown counter, foreign tensor prefix, duplicates, left-over bytes.
    FileBuilder b;
    b.u64(0);
    b.counters();
    b.u64(1);
    b.str("model.w");
    b.u8(9);
    EXPECT_TRUE(contains(error_for(b), "tensor 'model.w' has unknown dtype code 9"));
    b.payload.back() = 1;
    b.u8(1);
    b.u64(static_cast<std::uint64_t>(-3));
    EXPECT_TRUE(contains(error_for(b), "tensor 'model.w' has a negative size in [-3]"));
  }
  {
    FileBuilder b;
    b.u64(0);
    b.u64(1);
    b.str("epoch");
    b.u64(0);
    EXPECT_TRUE(contains(error_for(b), "missing counter 'step'"));
  }
  {
    FileBuilder b;
    b.u64(0);
    b.counters();
    b.u64(1);
    b.str("weights.w");
    b.u8(1);
    b.u8(0);
    b.u64(0);  // a float32 scalar's 4 bytes (and 4 more, never reached)
    EXPECT_TRUE(contains(error_for(b), "tensor 'weights.w' belongs to neither 'model.' nor 'optimizer.'"));
  }
  {
    FileBuilder b;
    b.u64(2);
    b.str("k");
    b.str("a");
    b.str("k");
    b.str("b");
    EXPECT_TRUE(contains(error_for(b), "configuration key 'k' appears twice"));
  }
  {
    FileBuilder b;
    b.u64(0);
    b.counters();
    b.u64(0);
    b.u8(0);
    EXPECT_TRUE(contains(error_for(b), "1 bytes left over after the last tensor"));
  }
}

TEST(Checkpoint, AnotherModelsCheckpointIsRefusedAndChangesNothing) {
  ScratchDir dir;
  Trainer run;
  run.steps(1);
  nn::save_checkpoint(dir.file("small.ckpt"), run.checkpoint());
  const nn::Checkpoint c = nn::load_checkpoint(dir.file("small.ckpt"));

  auto other = other_model();
  const std::uint64_t before = model_fingerprint(*other);
  std::string msg = error_of([&] { nn::restore_checkpoint(c, dir.file("small.ckpt"), *other, nullptr, nullptr); });
  EXPECT_TRUE(contains(msg, "checkpoint '" + dir.file("small.ckpt") + "': ")) << msg;
  EXPECT_TRUE(contains(msg, "unexpected keys: 3.weight 3.bias 1.running_mean 1.running_var 1.num_batches_tracked;")) << msg;
  EXPECT_TRUE(contains(msg, "shape mismatch: 0.weight (checkpoint [8, 4], model [5, 4])")) << msg;
  EXPECT_TRUE(contains(msg, "1.weight (checkpoint [8], model [3, 5])")) << msg;
  EXPECT_EQ(model_fingerprint(*other), before);

  auto wide = small_model(2);
  wide->to(DType::Float64);
  const std::uint64_t wide_before = model_fingerprint(*wide);
  msg = error_of([&] { nn::load_model_state(*wide, c.model, "small.ckpt"); });
  EXPECT_TRUE(contains(msg, "dtype mismatch: 0.weight (file float32, model float64)")) << msg;
  EXPECT_EQ(model_fingerprint(*wide), wide_before);
}

TEST(Checkpoint, AnOptimizerMismatchPutsTheModelBack) {
  Trainer run;
  run.steps(2);
  nn::Checkpoint c = run.checkpoint();
  c.optimizer.insert("state.momentum_buffer.9.weight", zeros({2}));

  Trainer fresh;
  const std::uint64_t before = model_fingerprint(*fresh.model);
  const std::string msg = error_of([&] { nn::restore_checkpoint(c, "c.ckpt", *fresh.model, &fresh.optimizer, &fresh.schedule); });
  EXPECT_TRUE(contains(msg, "checkpoint 'c.ckpt': Optimizer::load_state_dict: state 'state.momentum_buffer.9.weight' is for a parameter '9.weight'")) << msg;
  EXPECT_EQ(model_fingerprint(*fresh.model), before);
  EXPECT_EQ(fresh.schedule.count(), 0);
}

TEST(Checkpoint, SaveErrorsNameThePathAndKeepTheOldFile) {
  ScratchDir dir;
  std::string msg = error_of([&] { nn::save_checkpoint(dir.file("no/such/dir/x.ckpt"), nn::Checkpoint{}); });
  EXPECT_TRUE(contains(msg, "checkpoint '" + dir.file("no/such/dir/x.ckpt") + "': cannot create '" +
                                dir.file("no/such/dir/x.ckpt.tmp") + "': No such file or directory")) << msg;

  Trainer run;
  nn::save_checkpoint(dir.file("x.ckpt"), run.checkpoint());
  const auto good = read_file(dir.file("x.ckpt"));
  nn::Checkpoint broken = run.checkpoint();
  broken.optimizer.insert("undefined", Tensor());
  msg = error_of([&] { nn::save_checkpoint(dir.file("x.ckpt"), broken); });
  EXPECT_TRUE(contains(msg, "cannot save 'optimizer.undefined': it is undefined")) << msg;
  EXPECT_EQ(read_file(dir.file("x.ckpt")), good);
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.ckpt.tmp")));
}

TEST(Checkpoint, KillDuringAWriteKeepsThePreviousCheckpoint) {
  // The default ("fast") death test style forks without exec, so the child writes into this test's directory.
  ScratchDir dir;
  Trainer run;
  run.steps(1);
  nn::Checkpoint first = run.checkpoint();
  first.step = 1;
  const std::string previous = nn::save_checkpoint_to_directory(dir.str(), first, 3);
  const auto previous_bytes = read_file(previous);
  const nn::Checkpoint previous_loaded = nn::load_checkpoint(previous);

  run.steps(1);
  nn::Checkpoint second = run.checkpoint();
  second.step = 2;
  const std::string half = std::to_string(previous_bytes.size() / 2);
  EXPECT_EXIT(
      {
        setenv("LAMINA_CHECKPOINT_KILL_AFTER_BYTES", half.c_str(), 1);
        nn::save_checkpoint_to_directory(dir.str(), second, 3);
      },
      ::testing::KilledBySignal(SIGKILL), "");

  // The half-written temp file is there, recognised, and never chosen; the previous checkpoint is intact and latest.
  const std::string tmp = dir.file("checkpoint-00000002.ckpt.tmp");
  ASSERT_TRUE(std::filesystem::exists(tmp));
  EXPECT_EQ(std::filesystem::file_size(tmp), previous_bytes.size() / 2);
  EXPECT_TRUE(contains(load_error(tmp), "unfinished write")) << load_error(tmp);
  const nn::CheckpointDirectory scan = nn::scan_checkpoint_directory(dir.str());
  ASSERT_TRUE(scan.latest.has_value());
  EXPECT_EQ(*scan.latest, previous);
  EXPECT_EQ(scan.unfinished, std::vector<std::string>{tmp});
  EXPECT_EQ(read_file(previous), previous_bytes);
  expect_same_state(nn::load_checkpoint(previous).model, previous_loaded.model);

  // The next save succeeds and removes the leftover.
  nn::save_checkpoint_to_directory(dir.str(), second, 3);
  EXPECT_FALSE(std::filesystem::exists(tmp));
  EXPECT_EQ(*nn::scan_checkpoint_directory(dir.str()).latest, dir.file("checkpoint-00000002.ckpt"));
}

TEST(Checkpoint, DirectoryKeepsTheLastKAndPointsAtTheLatest) {
  ScratchDir dir;
  Trainer run;
  nn::Checkpoint c = run.checkpoint();
  for (int step = 1; step <= 5; ++step) {
    c.step = step * 10;
    nn::save_checkpoint_to_directory(dir.str(), c, 2);
  }
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir.str())) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"checkpoint-00000040.ckpt", "checkpoint-00000050.ckpt", "latest"}));
  std::ifstream pointer(dir.file("latest"));
  std::string name;
  std::getline(pointer, name);
  EXPECT_EQ(name, "checkpoint-00000050.ckpt");

  // A run resumed from an older checkpoint: what it writes is kept and becomes the latest.
  c.step = 7;
  nn::save_checkpoint_to_directory(dir.str(), c, 2);
  EXPECT_TRUE(std::filesystem::exists(dir.file("checkpoint-00000007.ckpt")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("checkpoint-00000050.ckpt")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("checkpoint-00000040.ckpt")));
  EXPECT_EQ(*nn::scan_checkpoint_directory(dir.str()).latest, dir.file("checkpoint-00000007.ckpt"));
}

TEST(Checkpoint, ScanFallsBackWhenThePointerIsMissingOrWrong) {
  ScratchDir dir;
  EXPECT_FALSE(nn::scan_checkpoint_directory(dir.file("absent")).latest.has_value());
  EXPECT_FALSE(nn::scan_checkpoint_directory(dir.str()).latest.has_value());
  Trainer run;
  nn::Checkpoint c = run.checkpoint();
  for (int step : {3, 6, 9}) {
    c.step = step;
    nn::save_checkpoint_to_directory(dir.str(), c, 0);
  }
  std::filesystem::remove(dir.file("latest"));
  EXPECT_EQ(*nn::scan_checkpoint_directory(dir.str()).latest, dir.file("checkpoint-00000009.ckpt"));
  write_file(dir.file("latest"), {'g', 'a', 'r', 'b', 'a', 'g', 'e', '\n'});
  EXPECT_EQ(*nn::scan_checkpoint_directory(dir.str()).latest, dir.file("checkpoint-00000009.ckpt"));
  // The newest file is damaged in its header: the one before it is the latest complete checkpoint.
  auto bytes = read_file(dir.file("checkpoint-00000009.ckpt"));
  bytes.resize(bytes.size() - 1);
  write_file(dir.file("checkpoint-00000009.ckpt"), bytes);
  write_file(dir.file("latest"), {'c', 'h', 'e', 'c', 'k', 'p', 'o', 'i', 'n', 't', '-', '0', '0', '0', '0', '0', '0', '0', '9', '.', 'c', 'k', 'p', 't', '\n'});
  EXPECT_EQ(*nn::scan_checkpoint_directory(dir.str()).latest, dir.file("checkpoint-00000006.ckpt"));
}
