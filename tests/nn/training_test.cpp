#include <gtest/gtest.h>

#include <filesystem>

#include <lamina/lamina.h>
#include <lamina/nn/data_loader.h>
#include <lamina/nn/dataset.h>
#include <lamina/nn/mlp.h>
#include <lamina/nn/sampler.h>
#include <lamina/nn/sgd.h>
#include <lamina/nn/training.h>

using namespace lamina;

TEST(Training, MlpLearnsFashionMnistSubset) {
  if (!std::filesystem::exists(std::string(nn::kFashionMnistDir) + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed at " << nn::kFashionMnistDir;
  manual_seed(0);
  const nn::ImageDataset train = nn::load_fashion_mnist(nn::kFashionMnistDir, nn::Split::Train, {.standardize = true}).head(4096);
  const nn::ImageDataset test = nn::load_fashion_mnist(nn::kFashionMnistDir, nn::Split::Test, {.standardize = true}).head(2048);
  nn::RandomSampler sampler(train.size(), 0);
  nn::SequentialSampler test_sampler(test.size());
  nn::DataLoader train_loader(train, 128, sampler);
  nn::DataLoader test_loader(test, 512, test_sampler);
  nn::MLP model;
  nn::SGD optimizer(model.named_parameters(), {.lr = 0.1, .momentum = 0.9});
  const nn::EpochStats before = nn::evaluate(model, test_loader);
  nn::EpochStats last;
  for (int epoch = 0; epoch < 3; ++epoch) {
    sampler.set_epoch(epoch);
    last = nn::train_epoch(model, optimizer, train_loader);
  }
  const nn::EpochStats after = nn::evaluate(model, test_loader);
  EXPECT_EQ(last.samples, 4096);
  EXPECT_EQ(after.samples, 2048);
  EXPECT_LT(before.accuracy(), 0.3);
  EXPECT_GT(after.accuracy(), 0.75) << "test loss " << after.mean_loss();
  EXPECT_LT(after.mean_loss(), before.mean_loss());
}

TEST(Training, StepsAfterTheFirstAllocateNothingFromTheSystem) {
  // Every tensor of a training step comes from the caching allocator's free lists once the first step has run:
  // no malloc/mmap churn per step.
  nn::MLP model;
  nn::SGD optimizer(model.named_parameters(), {.lr = 0.01, .momentum = 0.9});
  const Tensor x = rand({64, 784});
  const Tensor y = from_vector<std::int64_t>(std::vector<std::int64_t>(64, 3), {64});
  auto step = [&] {
    optimizer.zero_grad();
    cross_entropy(model(x), y).backward();
    optimizer.step();
  };
  step();
  step();
  const std::uint64_t before = CachingHostAllocator::instance().stats().system_allocs;
  for (int i = 0; i < 5; ++i) step();
  EXPECT_EQ(CachingHostAllocator::instance().stats().system_allocs, before);
}
