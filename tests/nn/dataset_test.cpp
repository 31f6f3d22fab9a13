#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <lamina/lamina.h>
#include <lamina/nn/dataset.h>

#include "nn/idx_files.h"

using namespace lamina;
using namespace lamina::testing;

namespace {

// Three 28x28 images: image i has every pixel equal to 100 * i, except pixel 0 of image 1, which is 255.
std::vector<std::uint8_t> tiny_pixels() {
  std::vector<std::uint8_t> pixels(3 * 784);
  for (int i = 0; i < 3; ++i)
    for (int p = 0; p < 784; ++p) pixels[i * 784 + p] = static_cast<std::uint8_t>(100 * i);
  pixels[784] = 255;
  return pixels;
}

void write_tiny_fashion_mnist(const ScratchDir& dir, std::uint32_t labels_count = 3) {
  write_gz(dir.file("train-images-idx3-ubyte.gz"), idx_bytes(2051, {3, 28, 28}, tiny_pixels()));
  write_gz(dir.file("train-labels-idx1-ubyte.gz"),
           idx_bytes(2049, {labels_count}, std::vector<std::uint8_t>(labels_count, 4)));
}

bool have_fashion_mnist() {
  return std::filesystem::exists(std::string(nn::kFashionMnistDir) + "/train-images-idx3-ubyte.gz") &&
         std::filesystem::exists(std::string(nn::kFashionMnistDir) + "/t10k-labels-idx1-ubyte.gz");
}

}  // namespace

TEST(TensorDataset, GathersRowsInTheOrderAsked) {
  const Tensor x = arange(0, 30, 1, {.dtype = DType::Float64}).reshape({5, 2, 3});
  const Tensor y = arange(10, 15, 1, {.dtype = DType::Int64});
  const nn::TensorDataset data(x, y);
  EXPECT_EQ(data.size(), 5);
  const std::vector<std::int64_t> indices = {4, 0, 4, 2};
  const nn::Batch b = data.get_batch(indices);
  EXPECT_EQ(b.inputs.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(b.targets.shape(), (Shape{4}));
  EXPECT_TRUE(b.inputs.is_contiguous());
  EXPECT_EQ(b.targets.to_vector<std::int64_t>(), (std::vector<std::int64_t>{14, 10, 14, 12}));
  const std::vector<double> got = b.inputs.to_vector<double>();
  for (std::size_t i = 0; i < indices.size(); ++i)
    for (int k = 0; k < 6; ++k) EXPECT_EQ(got[i * 6 + k], indices[i] * 6 + k);
}

TEST(TensorDataset, NonContiguousInputsAreGatheredByLogicalRow) {
  const Tensor x = arange(0, 6, 1, {.dtype = DType::Float64}).reshape({2, 3}).t();  // [3, 2]: rows {0,3},{1,4},{2,5}
  const nn::TensorDataset data(x, arange(0, 3, 1, {.dtype = DType::Int64}));
  const std::vector<std::int64_t> indices = {2, 1};
  EXPECT_EQ(data.get_batch(indices).inputs.to_vector<double>(), (std::vector<double>{2, 5, 1, 4}));
}

TEST(TensorDataset, Errors) {
  const nn::TensorDataset data(zeros({4, 2}), zeros({4}, {.dtype = DType::Int64}));
  const std::vector<std::int64_t> bad = {1, 4};
  std::string msg = error_of([&] { data.get_batch(bad); });
  EXPECT_TRUE(contains(msg, "TensorDataset::get_batch: index 4 is out of range for a data set of 4 samples")) << msg;
  const std::vector<std::int64_t> negative = {-1};
  EXPECT_THROW(data.get_batch(negative), std::out_of_range);

  msg = error_of([&] { nn::TensorDataset(zeros({4, 2}), zeros({3}, {.dtype = DType::Int64})); });
  EXPECT_TRUE(contains(msg, "TensorDataset")) << msg;
  EXPECT_TRUE(contains(msg, "float32 [4, 2]")) << msg;
  EXPECT_TRUE(contains(msg, "int64 [3]")) << msg;
  msg = error_of([&] { data.head(5); });
  EXPECT_TRUE(contains(msg, "TensorDataset::head: 5 samples asked of a data set of 4")) << msg;
}

TEST(TensorDataset, HeadSharesMemory) {
  const Tensor x = arange(0, 10, 1, {.dtype = DType::Float64}).reshape({5, 2});
  const nn::TensorDataset data(x, arange(0, 5, 1, {.dtype = DType::Int64}));
  const nn::TensorDataset first = data.head(3);
  EXPECT_EQ(first.size(), 3);
  EXPECT_EQ(first.inputs().storage().data(), x.storage().data());
  const std::vector<std::int64_t> last = {2};
  EXPECT_EQ(first.get_batch(last).inputs.to_vector<double>(), (std::vector<double>{4, 5}));
  EXPECT_THROW(first.get_batch(std::vector<std::int64_t>{3}), std::out_of_range);
}

TEST(ImageDataset, ConvertsTheBytesOfTheImagesAsked) {
  // Four 2x3 images; image i has pixel k equal to 10 * i + k.
  std::vector<std::uint8_t> pixels(4 * 6);
  for (int i = 0; i < 4; ++i)
    for (int k = 0; k < 6; ++k) pixels[i * 6 + k] = static_cast<std::uint8_t>(10 * i + k);
  pixels[23] = 255;
  const nn::ImageDataset data(pixels, {1, 2, 3}, arange(20, 24, 1, {.dtype = DType::Int64}), 0.5, -1.0);
  EXPECT_EQ(data.size(), 4);
  const std::vector<std::int64_t> indices = {3, 0, 3, 1};
  const nn::Batch b = data.get_batch(indices);
  EXPECT_EQ(b.inputs.shape(), (Shape{4, 1, 2, 3}));
  EXPECT_EQ(b.inputs.dtype(), DType::Float32);
  EXPECT_EQ(b.targets.to_vector<std::int64_t>(), (std::vector<std::int64_t>{23, 20, 23, 21}));
  const std::vector<float> got = b.inputs.to_vector<float>();
  for (std::size_t i = 0; i < indices.size(); ++i)
    for (int k = 0; k < 6; ++k) {
      const int byte = indices[i] == 3 && k == 5 ? 255 : 10 * static_cast<int>(indices[i]) + k;
      EXPECT_EQ(got[i * 6 + k], static_cast<float>(byte * 0.5 - 1.0)) << i << " " << k;
    }
  EXPECT_EQ(data.inputs().shape(), (Shape{4, 1, 2, 3}));
  EXPECT_EQ(data.inputs().to_vector<float>()[23], 126.5f);

  const nn::ImageDataset first = data.head(2);
  EXPECT_EQ(first.size(), 2);
  EXPECT_EQ(first.get_batch(std::vector<std::int64_t>{1}).inputs.to_vector<float>(), (std::vector<float>{4, 4.5, 5, 5.5, 6, 6.5}));
  std::string msg = error_of([&] { first.get_batch(std::vector<std::int64_t>{2}); });
  EXPECT_TRUE(contains(msg, "ImageDataset::get_batch: index 2 is out of range for a data set of 2 samples")) << msg;
  msg = error_of([&] { data.head(5); });
  EXPECT_TRUE(contains(msg, "ImageDataset::head: 5 samples asked of a data set of 4")) << msg;
  msg = error_of([&] { nn::ImageDataset(pixels, {2, 2}, arange(0, 4, 1, {.dtype = DType::Int64})); });
  EXPECT_TRUE(contains(msg, "ImageDataset: 24 pixel bytes are not 4 images of shape [2, 2] (targets int64 [4])")) << msg;
}

TEST(FashionMnist, ScalesToUnitRangeAndStandardizes) {
  ScratchDir dir;
  write_tiny_fashion_mnist(dir);
  const nn::ImageDataset data = nn::load_fashion_mnist(dir.str(), nn::Split::Train);
  EXPECT_EQ(data.inputs().shape(), (Shape{3, 1, 28, 28}));
  EXPECT_EQ(data.inputs().dtype(), DType::Float32);
  EXPECT_EQ(data.targets().to_vector<std::int64_t>(), (std::vector<std::int64_t>{4, 4, 4}));
  const std::vector<float> x = data.inputs().to_vector<float>();
  EXPECT_EQ(x[0], 0.0f);
  EXPECT_EQ(x[784], 1.0f);
  EXPECT_FLOAT_EQ(x[785], 100.0f / 255.0f);
  EXPECT_FLOAT_EQ(x[2 * 784 + 5], 200.0f / 255.0f);

  const nn::ImageDataset standard =
      nn::load_fashion_mnist(dir.str(), nn::Split::Train, {.standardize = true, .flatten = true});
  EXPECT_EQ(standard.inputs().shape(), (Shape{3, 784}));
  const std::vector<float> s = standard.inputs().to_vector<float>();
  EXPECT_FLOAT_EQ(s[0], -0.2860f / 0.3530f);
  EXPECT_FLOAT_EQ(s[784], (1.0f - 0.2860f) / 0.3530f);
  EXPECT_FLOAT_EQ(s[785], (100.0f / 255.0f - 0.2860f) / 0.3530f);
}

TEST(FashionMnist, CountMismatchNamesBothFiles) {
  ScratchDir dir;
  write_tiny_fashion_mnist(dir, 2);
  const std::string msg = error_of([&] { nn::load_fashion_mnist(dir.str(), nn::Split::Train); });
  EXPECT_TRUE(contains(msg, dir.file("train-images-idx3-ubyte.gz") + "' holds 3 images")) << msg;
  EXPECT_TRUE(contains(msg, dir.file("train-labels-idx1-ubyte.gz") + "' holds 2 labels")) << msg;
}

TEST(FashionMnist, WrongImageSize) {
  ScratchDir dir;
  write_gz(dir.file("t10k-images-idx3-ubyte.gz"), idx_bytes(2051, {1, 2, 2}, {1, 2, 3, 4}));
  write_gz(dir.file("t10k-labels-idx1-ubyte.gz"), idx_bytes(2049, {1}, {0}));
  const std::string msg = error_of([&] { nn::load_fashion_mnist(dir.str(), nn::Split::Test); });
  EXPECT_TRUE(contains(msg, dir.file("t10k-images-idx3-ubyte.gz"))) << msg;
  EXPECT_TRUE(contains(msg, "expected 28x28 images, got 2x2")) << msg;
}

TEST(FashionMnist, MissingLabelsFileIsNamed) {
  ScratchDir dir;
  write_gz(dir.file("train-images-idx3-ubyte.gz"), idx_bytes(2051, {3, 28, 28}, tiny_pixels()));
  const std::string msg = error_of([&] { nn::load_fashion_mnist(dir.str(), nn::Split::Train); });
  EXPECT_TRUE(contains(msg, dir.file("train-labels-idx1-ubyte.gz") + "': cannot open")) << msg;
}

TEST(FashionMnist, LabelOutOfRangeIsNamed) {
  ScratchDir dir;
  write_gz(dir.file("train-images-idx3-ubyte.gz"), idx_bytes(2051, {3, 28, 28}, tiny_pixels()));
  write_gz(dir.file("train-labels-idx1-ubyte.gz"), idx_bytes(2049, {3}, {1, 2, 11}));
  const std::string msg = error_of([&] { nn::load_fashion_mnist(dir.str(), nn::Split::Train); });
  EXPECT_TRUE(contains(msg, dir.file("train-labels-idx1-ubyte.gz") + "': label 11 at index 2 is outside 0..9")) << msg;
}

TEST(FashionMnist, RealFiles) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed (" << nn::kFashionMnistDir << ")";
  const nn::ImageDataset train = nn::load_fashion_mnist(nn::kFashionMnistDir, nn::Split::Train);
  const nn::ImageDataset test = nn::load_fashion_mnist(nn::kFashionMnistDir, nn::Split::Test);
  EXPECT_EQ(train.inputs().shape(), (Shape{60000, 1, 28, 28}));
  EXPECT_EQ(test.inputs().shape(), (Shape{10000, 1, 28, 28}));
  // From /usr/bin/python3 with gzip + numpy on the same files: the first labels, the byte sum of the first image
  // of each split, each class's count, and the pixel mean and standard deviation of the training set (0.28604,
  // 0.35302).
  EXPECT_EQ(train.targets().slice(0, 0, 10).to_vector<std::int64_t>(), (std::vector<std::int64_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}));
  EXPECT_EQ(test.targets().slice(0, 0, 10).to_vector<std::int64_t>(), (std::vector<std::int64_t>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7}));
  EXPECT_NEAR(train.inputs().select(0, 0).to(DType::Float64).sum().item() * 255.0, 76247.0, 1e-6 * 76247);
  EXPECT_NEAR(test.inputs().select(0, 0).to(DType::Float64).sum().item() * 255.0, 33456.0, 1e-6 * 33456);
  std::vector<int> counts(10, 0);
  for (std::int64_t label : train.targets().to_vector<std::int64_t>()) ++counts[label];
  EXPECT_EQ(counts, std::vector<int>(10, 6000));

  auto mean_and_std = [](const Tensor& t) {
    const float* p = t.data<float>();
    double sum = 0, sum_sq = 0;
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      sum += p[i];
      sum_sq += static_cast<double>(p[i]) * p[i];
    }
    const double mean = sum / static_cast<double>(t.numel());
    return std::pair{mean, std::sqrt(sum_sq / static_cast<double>(t.numel()) - mean * mean)};
  };
  const auto [mean, stddev] = mean_and_std(train.inputs());
  EXPECT_NEAR(mean, 0.28604, 1e-5);
  EXPECT_NEAR(stddev, 0.35302, 1e-5);
  const nn::ImageDataset standard = nn::load_fashion_mnist(nn::kFashionMnistDir, nn::Split::Train, {.standardize = true});
  const auto [standard_mean, standard_std] = mean_and_std(standard.inputs());
  EXPECT_NEAR(standard_mean, 0.0, 2e-4);
  EXPECT_NEAR(standard_std, 1.0, 2e-4);
}
