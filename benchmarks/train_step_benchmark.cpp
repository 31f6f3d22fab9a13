// One training step of lamina — zero_grad, forward, cross-entropy, backward, SGD step — timed step by step over a
// realistic run: Fashion-MNIST loaded, batches drawn through the DataLoader, model and optimizer live. Fetching a
// batch is not part of the timed step. train_step_pytorch.py is the same program in PyTorch; train_step.py runs
// both alternately and prints the ratios.
//
//   train_step_benchmark MODEL BATCH THREADS STEPS WARMUP [DATA]
//     MODEL  mlp (784-256-10 ReLU) | lenet (d2l's sigmoid/avg-pool LeNet) | resnet18 (small-image stem)
//     DATA   fashion-mnist (default) | synthetic (one random batch, nothing loaded)
//
// Prints one JSON line: median and mean ms per step, CPU ms per step (process CPU time over the timed steps:
// other jobs on a shared machine inflate wall time, not CPU time), samples/s at the median, and the peak RSS of
// the whole run (VmHWM), and the caching allocator's misses during the timed steps. For the MLP it also times, after every step, the step's five GEMMs called directly on
// cblas_sgemm (forward x·W1ᵀ and h·W2ᵀ; backward g·W2, gᵀ·h and g1ᵀ·x): the floor no framework goes below, measured
// under the same load as the steps.
#include <cblas.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include <lamina/lamina.h>

using namespace lamina;

namespace {

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Peak resident set size in MB, from /proc (VmHWM), falling back to getrusage.
double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

struct Recipe {
  std::shared_ptr<nn::Module> model;
  double lr;
};

// d2l's models and initialization, as in pytorch_fashion_mnist.py.
Recipe make_recipe(const std::string& name) {
  if (name == "mlp") {
    auto model = std::make_shared<nn::MLP>();
    model->initialize(nn::init::normal(0.0, 0.01), [](const std::string& p) { return p == "weight"; });
    return {model, 0.1};
  }
  if (name == "lenet") {
    auto model = std::make_shared<nn::LeNet>();
    model->initialize(nn::init::xavier_uniform(), [](const std::string& p) { return p == "weight"; });
    return {model, 0.9};
  }
  if (name == "resnet18") return {std::make_shared<nn::ResNet18>(), 0.05};
  throw std::invalid_argument("unknown model '" + name + "' (mlp, lenet or resnet18)");
}

// The batches the run trains on: shuffled epochs of Fashion-MNIST through a DataLoader, or one random batch.
class Batches {
 public:
  Batches(const std::string& data, std::int64_t batch) {
    if (data == "synthetic") {
      synthetic_ = {randn({batch, 1, 28, 28}), from_vector(std::vector<std::int64_t>(batch, 3), {batch})};
      return;
    }
    if (data != "fashion-mnist") throw std::invalid_argument("unknown data '" + data + "' (fashion-mnist or synthetic)");
    dataset_ = std::make_unique<nn::ImageDataset>(nn::load_fashion_mnist(nn::kFashionMnistDir, nn::Split::Train));
    sampler_ = std::make_unique<nn::RandomSampler>(dataset_->size(), 0);
    loader_ = std::make_unique<nn::DataLoader>(*dataset_, batch, *sampler_, /*drop_last=*/true);
    it_ = loader_->begin();
  }

  nn::Batch next() {
    if (!loader_) return synthetic_;
    if (it_ == loader_->end()) it_ = loader_->begin();
    nn::Batch b = *it_;
    ++it_;
    return b;
  }

 private:
  nn::Batch synthetic_;
  std::unique_ptr<nn::ImageDataset> dataset_;
  std::unique_ptr<nn::RandomSampler> sampler_;
  std::unique_ptr<nn::DataLoader> loader_;
  nn::DataLoader::Iterator it_{nullptr};
};

// The MLP step's five GEMMs (784-256-10, float32) on their own buffers, timed in milliseconds.
class MlpGemms {
 public:
  explicit MlpGemms(std::int64_t batch)
      : b_(static_cast<int>(batch)), x_(randn({batch, 784})), w1_(randn({256, 784})), h_(randn({batch, 256})),
        w2_(randn({10, 256})), out_(randn({batch, 10})), gh_(randn({batch, 256})), gw1_(randn({256, 784})), gw2_(randn({10, 256})) {}

  double time_ms() const {
    const auto t0 = std::chrono::steady_clock::now();
    const auto f = [](const Tensor& t) { return t.data<float>(); };
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b_, 256, 784, 1, f(x_), 784, f(w1_), 784, 0, f(h_), 256);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b_, 10, 256, 1, f(h_), 256, f(w2_), 256, 0, f(out_), 10);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b_, 256, 10, 1, f(out_), 10, f(w2_), 256, 0, f(gh_), 256);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 10, 256, b_, 1, f(out_), 10, f(h_), 256, 0, f(gw2_), 256);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 256, 784, b_, 1, f(gh_), 256, f(x_), 784, 0, f(gw1_), 784);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }

 private:
  int b_;
  Tensor x_, w1_, h_, w2_, out_, gh_, gw1_, gw2_;
};

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6 || argc > 7) {
    std::fprintf(stderr, "usage: %s mlp|lenet|resnet18 BATCH THREADS STEPS WARMUP [fashion-mnist|synthetic]\n", argv[0]);
    return 2;
  }
  const std::string model_name = argv[1];
  const std::int64_t batch = std::atoll(argv[2]);
  const int threads = std::atoi(argv[3]);
  const int steps = std::atoi(argv[4]), warmup = std::atoi(argv[5]);
  const std::string data = argc == 7 ? argv[6] : "fashion-mnist";
  set_num_threads(threads);
  manual_seed(0);

  Batches batches(data, batch);
  Recipe recipe = make_recipe(model_name);
  nn::Module& model = *recipe.model;
  {
    // Deferred parameters get their shapes before the optimizer sees them.
    NoGradGuard no_grad;
    model(batches.next().inputs);
  }
  nn::SGD optimizer(model.named_parameters(), {.lr = recipe.lr});
  model.train();

  const std::unique_ptr<MlpGemms> gemms = model_name == "mlp" ? std::make_unique<MlpGemms>(batch) : nullptr;
  std::vector<double> times, gemm_times;
  double cpu = 0, loss_value = 0;
  std::uint64_t system_allocs = 0;  // caching-allocator misses during the timed steps
  for (int step = 0; step < warmup + steps; ++step) {
    const nn::Batch b = batches.next();
    if (step == warmup) system_allocs = CachingHostAllocator::instance().stats().system_allocs;
    const double c0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    optimizer.zero_grad();
    const Tensor loss = cross_entropy(model(b.inputs), b.targets);
    loss.backward();
    optimizer.step();
    const auto t1 = std::chrono::steady_clock::now();
    const double c1 = cpu_seconds();
    loss_value = loss.item();
    const double gemm_ms = gemms ? gemms->time_ms() : 0.0;
    if (step < warmup) continue;
    times.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    gemm_times.push_back(gemm_ms);
    cpu += (c1 - c0) * 1e3;
  }
  system_allocs = CachingHostAllocator::instance().stats().system_allocs - system_allocs;
  const double median = median_of(times);
  const double mean = std::accumulate(times.begin(), times.end(), 0.0) / static_cast<double>(times.size());
  std::printf("{\"framework\": \"lamina\", \"model\": \"%s\", \"batch\": %lld, \"threads\": %d, \"steps\": %d, "
              "\"data\": \"%s\", \"ms_median\": %.4f, \"ms_mean\": %.4f, \"ms_min\": %.4f, \"cpu_ms\": %.4f, "
              "\"samples_per_s\": %.1f, \"peak_rss_mb\": %.1f, \"last_loss\": %.5f, \"gemm_floor_ms\": %.4f, \"allocator_misses\": %llu}\n",
              model_name.c_str(), static_cast<long long>(batch), threads, steps, data.c_str(), median, mean, *std::min_element(times.begin(), times.end()),
              cpu / static_cast<double>(times.size()), 1e3 * static_cast<double>(batch) / median, peak_rss_mb(), loss_value,
              gemms ? median_of(gemm_times) : 0.0, static_cast<unsigned long long>(system_allocs));
  return 0;
}
