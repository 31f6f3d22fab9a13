#pragma once
// Checkpoints: everything a training run needs to continue exactly where it stopped, in one file that is written
// atomically and that refuses anything damaged.
//
//   nn::Checkpoint ckpt;
//   ckpt.model = model.state_dict();
//   ckpt.optimizer = optimizer.state_dict();
//   ...
//   nn::save_checkpoint("run/checkpoint-00000100.ckpt", ckpt);
//   nn::Checkpoint back = nn::load_checkpoint("run/checkpoint-00000100.ckpt");
//   nn::restore_checkpoint(back, "run/checkpoint-00000100.ckpt", model, &optimizer, &scheduler);  (nn/restore.h)
//
// File format, version 1 (little-endian):
//   header, 40 bytes:  "LAMINACK" | u32 format version | u32 reserved (0) | u64 payload size |
//                      u64 XXH3-64 of the payload | u64 XXH3-64 of the 32 header bytes before it
//   payload:           a Boost.Serialization binary archive (without Boost's own archive header) of three flat,
//                      named lists, each a u64 count followed by its entries:
//                        strings   (key, value)   the run's configuration
//                        counters  (key, i64)     "epoch", "step", "scheduler.count", "rng.seed", ...
//                        tensors   (key, tensor)  "model.<name>", "optimizer.<name>"
//                      A string is a u64 length and its bytes; a tensor is a u8 dtype code (1 float32,
//                      2 float64, 3 int64), a u8 rank, rank i64 sizes, a u8 count of zero bytes that follow so
//                      that its elements (row-major, CPU) start at a multiple of 64 bytes in the file.
// The payload is a list of named primitives, not an object graph: Boost only encodes the primitives, and every
// length the reader meets is checked against the bytes that are left before anything is allocated.
//
// Reading checks, in this order and before parsing anything: the file opens, holds a whole header, the magic, the
// header's checksum, the version (a newer one is refused by name), the payload size against the file size, and the
// payload checksum. Every failure is a CheckpointError whose message starts with "checkpoint '<path>': ".
//
// Writing goes to "<path>.tmp" in the same directory, which is fsync'ed, renamed over <path>, and then the
// directory is fsync'ed (AtomicFile): a reader sees the old file or the new one, never a mix. The temp file begins
// with a header that marks it unfinished until the last write, so a write that was killed is recognised as such.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <lamina/core/random.h>
#include <lamina/nn/sampler.h>
#include <lamina/nn/state_dict.h>

namespace lamina::nn {

inline constexpr std::uint32_t kCheckpointFormatVersion = 1;

class CheckpointError : public std::runtime_error {
 public:
  CheckpointError(const std::string& path, const std::string& problem)
      : std::runtime_error("checkpoint '" + path + "': " + problem) {}
};

struct Checkpoint {
  StateDict model;
  StateDict optimizer;
  std::int64_t scheduler_count = 0;     // LRScheduler::count()
  std::int64_t epoch = 0;               // the epoch in progress (the sampler's epoch)
  std::int64_t step = 0;                // optimizer steps since the start of the run
  GeneratorState rng;                   // lamina's default generator: dropout, initialization
  std::int64_t sampler_position = 0;    // SamplerState::position on the saving rank
  std::int64_t epoch_samples_seen = 0;  // samples of `epoch` consumed over all ranks (DistributedSampler)
  std::map<std::string, std::string> config;  // model, global batch, world size at save time, ...

  SamplerState sampler_state() const { return {epoch, sampler_position}; }
};

// Writes `ckpt` atomically (nn/atomic_file.h, which also has the test hook that simulates a kill mid-write). A
// failure throws CheckpointError naming the file and the cause, and leaves any previous file at `path` as it was.
void save_checkpoint(const std::string& path, const Checkpoint& ckpt);

// Reads and fully verifies a checkpoint file. The file is read into one block of memory, and the tensors of the
// result are views into it (what restore_checkpoint copies out): one read of the bytes, no second copy. A tensor
// kept after the Checkpoint is gone keeps the whole block alive.
Checkpoint load_checkpoint(const std::string& path);
// The same checks and parsing for a file's bytes held in memory; `name` stands for the file in messages.
Checkpoint parse_checkpoint(std::span<const std::uint8_t> bytes, const std::string& name);

// --- a directory of checkpoints ---
// Files are named checkpoint-<step, 8 digits>.ckpt; a file `latest` holds the name of the newest complete one and
// is replaced atomically after each save.

// Saves `ckpt` as <dir>/checkpoint-<ckpt.step>.ckpt (creating `dir`), points `latest` at it, and then deletes all
// but `keep` checkpoints: the one just written and the keep - 1 others with the highest steps (keep <= 0 keeps
// all), and any temp file a killed write left behind. Returns the path written.
std::string save_checkpoint_to_directory(const std::string& dir, const Checkpoint& ckpt, int keep);

struct CheckpointDirectory {
  std::optional<std::string> latest;    // the newest complete checkpoint, if any
  std::vector<std::string> unfinished;  // temp files of writes that did not finish (they are never used)
};
// Finds the checkpoint to resume from: the file `latest` names when its header is whole and its size right, else
// (no pointer, or a damaged one) the highest-step checkpoint file that passes those checks. The payload checksum
// is verified when the file is loaded. A missing directory has no checkpoints.
CheckpointDirectory scan_checkpoint_directory(const std::string& dir);

}  // namespace lamina::nn
