#include <lamina/nn/dataset.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <lamina/core/checks.h>
#include <lamina/nn/idx.h>

namespace lamina::nn {
namespace {

// Copies rows `indices` of the contiguous tensor `src` [N, ...] into a new tensor [indices.size(), ...].
Tensor gather_rows(const Tensor& src, std::span<const std::int64_t> indices) {
  Shape shape = src.shape();
  const std::int64_t n = shape[0];
  shape[0] = static_cast<std::int64_t>(indices.size());
  Tensor out = Tensor::empty(shape, {.dtype = src.dtype()});
  const std::size_t row_bytes = static_cast<std::size_t>(src.numel() / std::max<std::int64_t>(n, 1)) * dtype_size(src.dtype());
  const auto* from = static_cast<const char*>(src.raw_data());
  auto* to = static_cast<char*>(out.raw_data());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const std::int64_t row = indices[i];
    if (row < 0 || row >= n)
      throw std::out_of_range("TensorDataset::get_batch: index " + std::to_string(row) +
                              " is out of range for a data set of " + std::to_string(n) + " samples");
    std::memcpy(to + i * row_bytes, from + static_cast<std::size_t>(row) * row_bytes, row_bytes);
  }
  return out;
}

}  // namespace

TensorDataset::TensorDataset(Tensor inputs, Tensor targets) {
  check_defined(inputs, "TensorDataset", "inputs");
  check_defined(targets, "TensorDataset", "targets");
  check_cpu(inputs, "TensorDataset");
  check_cpu(targets, "TensorDataset");
  if (inputs.dim() == 0 || targets.dim() == 0 || inputs.size(0) != targets.size(0))
    throw std::invalid_argument("TensorDataset: inputs and targets need the same first dimension (the sample count), got " +
                                describe(inputs) + " and " + describe(targets));
  inputs_ = inputs.detach().contiguous();
  targets_ = targets.detach().contiguous();
}

Batch TensorDataset::get_batch(std::span<const std::int64_t> indices) const {
  return {gather_rows(inputs_, indices), gather_rows(targets_, indices)};
}

TensorDataset TensorDataset::head(std::int64_t count) const {
  if (count < 0 || count > size())
    throw std::out_of_range("TensorDataset::head: " + std::to_string(count) + " samples asked of a data set of " +
                            std::to_string(size()));
  return TensorDataset(inputs_.slice(0, 0, count), targets_.slice(0, 0, count));
}

ImageDataset::ImageDataset(std::vector<std::uint8_t> pixels, Shape image_shape, Tensor targets, double scale, double shift)
    : image_shape_(std::move(image_shape)), image_size_(shape_numel(image_shape_)) {
  check_defined(targets, "ImageDataset", "targets");
  check_cpu(targets, "ImageDataset");
  if (targets.dim() == 0 || static_cast<std::int64_t>(pixels.size()) != targets.size(0) * image_size_)
    throw std::invalid_argument("ImageDataset: " + std::to_string(pixels.size()) + " pixel bytes are not " +
                                (targets.dim() == 0 ? std::string("a sample count") : std::to_string(targets.size(0))) +
                                " images of shape " + shape_str(image_shape_) + " (targets " + describe(targets) + ")");
  pixels_ = std::make_shared<const std::vector<std::uint8_t>>(std::move(pixels));
  targets_ = targets.detach().contiguous();
  for (int b = 0; b < 256; ++b) values_[b] = static_cast<float>(b * scale + shift);
}

Batch ImageDataset::get_batch(std::span<const std::int64_t> indices) const {
  Shape shape = image_shape_;
  shape.insert(shape.begin(), static_cast<std::int64_t>(indices.size()));
  Tensor inputs = Tensor::empty(shape);
  float* out = inputs.data<float>();
  const std::uint8_t* pixels = pixels_->data();
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const std::int64_t row = indices[i];
    if (row < 0 || row >= size())
      throw std::out_of_range("ImageDataset::get_batch: index " + std::to_string(row) + " is out of range for a data set of " +
                              std::to_string(size()) + " samples");
    const std::uint8_t* src = pixels + row * image_size_;
    float* dst = out + static_cast<std::int64_t>(i) * image_size_;
    for (std::int64_t k = 0; k < image_size_; ++k) dst[k] = values_[src[k]];
  }
  return {inputs, gather_rows(targets_, indices)};
}

ImageDataset ImageDataset::head(std::int64_t count) const {
  if (count < 0 || count > size())
    throw std::out_of_range("ImageDataset::head: " + std::to_string(count) + " samples asked of a data set of " +
                            std::to_string(size()));
  ImageDataset first = *this;
  first.targets_ = targets_.slice(0, 0, count);
  return first;
}

Tensor ImageDataset::inputs() const {
  std::vector<std::int64_t> all(size());
  for (std::int64_t i = 0; i < size(); ++i) all[i] = i;
  return get_batch(all).inputs;
}

ImageDataset load_fashion_mnist(const std::string& dir, Split split, FashionMnistOptions options) {
  const std::string prefix = dir + "/" + (split == Split::Train ? "train" : "t10k");
  const std::string images_path = prefix + "-images-idx3-ubyte.gz";
  const std::string labels_path = prefix + "-labels-idx1-ubyte.gz";
  IdxArray images = read_idx_images(images_path);
  const IdxArray labels = read_idx_labels(labels_path, kFashionMnistClasses);
  if (images.dims[1] != 28 || images.dims[2] != 28)
    throw std::runtime_error("IDX file '" + images_path + "': expected 28x28 images, got " +
                             std::to_string(images.dims[1]) + "x" + std::to_string(images.dims[2]));
  const std::int64_t n = images.dims[0];
  if (labels.dims[0] != n)
    throw std::runtime_error("Fashion-MNIST: '" + images_path + "' holds " + std::to_string(n) + " images but '" +
                             labels_path + "' holds " + std::to_string(labels.dims[0]) + " labels");

  Tensor targets = Tensor::empty({n}, {.dtype = DType::Int64});
  std::int64_t* y = targets.data<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) y[i] = labels.data[i];
  // x / 255, then optionally (x - mean) / std, folded into one multiply-add.
  const double scale = options.standardize ? 1.0 / (255.0 * kFashionMnistStd) : 1.0 / 255.0;
  const double shift = options.standardize ? -kFashionMnistMean / kFashionMnistStd : 0.0;
  return ImageDataset(std::move(images.data), options.flatten ? Shape{28 * 28} : Shape{1, 28, 28}, targets, scale, shift);
}

}  // namespace lamina::nn
