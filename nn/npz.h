#pragma once
// NumPy .npz files for state dicts: a zip archive with one .npy array per dotted name ("hidden.weight.npy"), the
// format of numpy.savez — so weights move to and from NumPy and PyTorch:
//
//   nn::save_npz("mlp.npz", model.state_dict());
//   >>> w = numpy.load("mlp.npz"); model.load_state_dict({k: torch.from_numpy(w[k]) for k in w})
//   >>> numpy.savez("torch.npz", **{k: v.numpy() for k, v in torch_model.state_dict().items()})
//   nn::load_model_state(model, nn::load_npz("torch.npz"), "torch.npz");   (strict: names, shapes, dtypes)
//
// Arrays are float32, float64 or int64, little-endian, C order. Writing stores the arrays uncompressed (as
// numpy.savez does) and is atomic like a checkpoint's; reading also takes deflated entries (numpy.savez_compressed)
// and zip64 records (numpy.savez always writes them), checks every entry's CRC-32, and refuses anything else
// with an error that names the file and the problem. Files of 4 GiB and more are not written.
#include <cstdint>
#include <span>
#include <string>

#include <lamina/nn/state_dict.h>

namespace lamina::nn {

void save_npz(const std::string& path, const StateDict& state);
StateDict load_npz(const std::string& path);
// The same for a file's bytes in memory; `name` stands for the file in messages.
StateDict parse_npz(std::span<const std::uint8_t> bytes, const std::string& name);

}  // namespace lamina::nn
