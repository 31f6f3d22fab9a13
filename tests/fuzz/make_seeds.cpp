// Writes the fuzzers' seeds made by lamina: small valid checkpoints of a few shapes, and an .npz.
//   make_seeds tests/fuzz/corpus/checkpoint tests/fuzz/corpus/npz
// (The corpus's other .npz seeds are numpy's: np.savez and np.savez_compressed of two small arrays.)
#include <cstdio>
#include <string>

#include <lamina/core/tensor.h>
#include <lamina/nn/checkpoint.h>
#include <lamina/nn/npz.h>

using namespace lamina;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_seeds <checkpoint seed folder> <npz seed folder>\n");
    return 2;
  }
  const std::string dir = argv[1];

  nn::save_checkpoint(dir + "/empty.ckpt", nn::Checkpoint{});

  // What a one-layer model and SGD with momentum save after one step.
  nn::Checkpoint linear;
  linear.model.insert("0.weight", from_vector<float>({0.5f, -0.25f, 1, 2, -3, 0.125f}, {2, 3}));
  linear.model.insert("0.bias", from_vector<float>({0.1f, -0.1f}, {2}));
  linear.optimizer.insert("hyper.lr", scalar_tensor(0.1, {.dtype = DType::Float64}));
  linear.optimizer.insert("hyper.momentum", scalar_tensor(0.9, {.dtype = DType::Float64}));
  linear.optimizer.insert("steps", scalar_tensor(1, {.dtype = DType::Int64}));
  linear.optimizer.insert("state.momentum_buffer.0.weight", from_vector<float>({1, 1, 1, 1, 1, 1}, {2, 3}));
  linear.step = 1;
  linear.scheduler_count = 1;
  linear.rng = {42, 1024};
  linear.config = {{"model", "linear"}, {"world_size", "1"}};
  nn::save_checkpoint(dir + "/linear.ckpt", linear);
  nn::save_npz(std::string(argv[2]) + "/lamina.npz", linear.model);

  nn::Checkpoint dtypes;
  dtypes.model.insert("f64", from_vector<double>({0.5, -1}, {2, 1}));
  dtypes.model.insert("i64", scalar_tensor(3, {.dtype = DType::Int64}));
  dtypes.model.insert("empty", zeros({0, 2, 0}));
  dtypes.epoch = 2;
  dtypes.sampler_position = 7;
  dtypes.epoch_samples_seen = 14;
  nn::save_checkpoint(dir + "/dtypes.ckpt", dtypes);
  return 0;
}
