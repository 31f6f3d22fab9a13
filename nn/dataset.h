#pragma once
// Data sets: a source of numbered samples that can gather any list of them into one batch.
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <lamina/core/tensor.h>

namespace lamina::nn {

// A batch: inputs [B, ...] and targets [B, ...], both contiguous, row i from the i-th requested sample.
struct Batch {
  Tensor inputs;
  Tensor targets;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual std::int64_t size() const = 0;
  // The samples at `indices`, in that order, stacked along a new leading dimension. An index outside
  // [0, size()) is std::out_of_range.
  virtual Batch get_batch(std::span<const std::int64_t> indices) const = 0;
};

// A data set held in memory as two CPU tensors whose first dimension counts the samples. A batch is gathered
// with one memcpy per row.
class TensorDataset : public Dataset {
 public:
  // inputs [N, ...] and targets [N, ...]; each is made contiguous (copied only when it is not).
  TensorDataset(Tensor inputs, Tensor targets);

  std::int64_t size() const override { return inputs_.size(0); }
  Batch get_batch(std::span<const std::int64_t> indices) const override;
  // The first `count` samples, sharing this data set's memory (for fast tests on a slice of a real data set).
  TensorDataset head(std::int64_t count) const;

  const Tensor& inputs() const { return inputs_; }
  const Tensor& targets() const { return targets_; }

 private:
  Tensor inputs_;
  Tensor targets_;
};

// A data set of 8-bit images held as their bytes, a quarter of the memory of float32 (Fashion-MNIST's training
// set: 47 MB instead of 188 MB), converted to float32 as each batch is gathered: byte b becomes b * scale +
// shift, computed in double and rounded to float (the same values as converting the whole set up front).
class ImageDataset : public Dataset {
 public:
  // `pixels` holds targets.size(0) images of `image_shape` (e.g. {1, 28, 28}), one byte per pixel, row-major.
  ImageDataset(std::vector<std::uint8_t> pixels, Shape image_shape, Tensor targets, double scale = 1.0, double shift = 0.0);

  std::int64_t size() const override { return targets_.size(0); }
  Batch get_batch(std::span<const std::int64_t> indices) const override;
  // The first `count` samples, sharing this data set's memory.
  ImageDataset head(std::int64_t count) const;

  // Every image converted: a new float32 tensor [N, image_shape...] (for evaluation code that wants one tensor).
  Tensor inputs() const;
  const Tensor& targets() const { return targets_; }

 private:
  std::shared_ptr<const std::vector<std::uint8_t>> pixels_;  // shared with head()s
  Shape image_shape_;
  std::int64_t image_size_;
  Tensor targets_;
  std::array<float, 256> values_;  // the float each byte becomes
};

// --- Fashion-MNIST (Debian's dataset-fashion-mnist package) ---

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
// Mean and standard deviation of the training images' pixels scaled to [0, 1].
inline constexpr double kFashionMnistMean = 0.2860;
inline constexpr double kFashionMnistStd = 0.3530;
inline constexpr int kFashionMnistClasses = 10;

enum class Split { Train, Test };

struct FashionMnistOptions {
  bool standardize = false;  // after scaling to [0, 1], subtract kFashionMnistMean and divide by kFashionMnistStd
  bool flatten = false;      // inputs [N, 784] instead of [N, 1, 28, 28]
};

// Reads {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz from `dir`: inputs float32 in [0, 1] (or standardized),
// kept as bytes until a batch is gathered; targets int64 [N] in 0..9. Errors name the file: missing, damaged,
// not 28x28 images, or image and label counts that differ.
ImageDataset load_fashion_mnist(const std::string& dir, Split split, FashionMnistOptions options = {});

}  // namespace lamina::nn
