// Time to load Fashion-MNIST and to run shuffled epochs of batch 256 through the DataLoader (batch assembly only,
// no model), on one thread. CPU time is reported next to wall time because other jobs on a shared machine inflate
// the wall time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <vector>

#include <lamina/core/parallel.h>
#include <lamina/nn/data_loader.h>

using namespace lamina;

namespace {
struct Clock {
  std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
  std::clock_t cpu = std::clock();
  double wall_seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count(); }
  double cpu_seconds() const { return static_cast<double>(std::clock() - cpu) / CLOCKS_PER_SEC; }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main() {
  set_num_threads(1);
  const Clock load;
  const nn::ImageDataset train = nn::load_fashion_mnist(nn::kFashionMnistDir, nn::Split::Train);
  std::printf("load_fashion_mnist(train): %.3f s wall, %.3f s CPU\n", load.wall_seconds(), load.cpu_seconds());

  nn::RandomSampler sampler(train.size(), 0);
  nn::DataLoader loader(train, 256, sampler);
  std::vector<double> wall, cpu;
  for (int epoch = 0; epoch < 9; ++epoch) {
    const Clock clock;
    std::int64_t samples = 0;
    for (auto& batch : loader) samples += batch.inputs.size(0);
    wall.push_back(clock.wall_seconds());
    cpu.push_back(clock.cpu_seconds());
    if (samples != train.size()) return 1;
  }
  const auto batches = static_cast<double>(loader.size());
  std::printf("epoch of %lld samples, %lld batches of 256, median of %zu: %.1f ms wall (%.0f us/batch), %.1f ms CPU (%.0f us/batch)\n",
              static_cast<long long>(train.size()), static_cast<long long>(loader.size()), wall.size(),
              median(wall) * 1e3, median(wall) * 1e6 / batches, median(cpu) * 1e3, median(cpu) * 1e6 / batches);
}
