// Large elementwise ops against a plain memory copy of the same bytes. Bandwidth counts the bytes an op must
// move: read each input once and write the output once (add: 3 × 64 MB, relu and memcpy: 2 × 64 MB).
// Times are wall-clock, since the OpenMP threads work in parallel. Set the thread counts explicitly:
//   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ./elementwise_benchmark   (benchmarks/kernels.py runs the recorded set)
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstring>

#include <lamina/lamina.h>

using namespace lamina;

namespace {

constexpr std::int64_t kElements = std::int64_t{1} << 24;  // 16M floats, 64 MB: far beyond the caches

long minor_page_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Bandwidth, and page faults per iteration (a fresh output buffer faulted in per call would show here).
template <typename F>
void run(benchmark::State& state, int tensors_moved, F op) {
  const long faults = minor_page_faults();
  for (auto _ : state) op();
  const double bytes = static_cast<double>(tensors_moved) * kElements * sizeof(float);
  state.counters["bandwidth"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["faults"] = benchmark::Counter(static_cast<double>(minor_page_faults() - faults), benchmark::Counter::kAvgIterations);
}

void BM_Add(benchmark::State& state) {
  const Tensor a = randn({kElements}), b = randn({kElements});
  run(state, 3, [&] { benchmark::DoNotOptimize(add(a, b).raw_data()); });
}

void BM_Mul(benchmark::State& state) {
  const Tensor a = randn({kElements}), b = randn({kElements});
  run(state, 3, [&] { benchmark::DoNotOptimize(mul(a, b).raw_data()); });
}

void BM_Relu(benchmark::State& state) {
  const Tensor a = randn({kElements});
  run(state, 2, [&] { benchmark::DoNotOptimize(relu(a).raw_data()); });
}

// The reference: one memcpy call into a buffer that stays allocated.
void BM_Memcpy(benchmark::State& state) {
  const Tensor src = randn({kElements}), dst = zeros({kElements});
  run(state, 2, [&] {
    std::memcpy(dst.data<float>(), src.data<float>(), kElements * sizeof(float));
    benchmark::ClobberMemory();
  });
}

// The same copy split over the OpenMP threads, the fair reference when the ops run on more than one thread.
void BM_MemcpyParallel(benchmark::State& state) {
  const Tensor src = randn({kElements}), dst = zeros({kElements});
  run(state, 2, [&] {
    const int parts = num_threads();
#pragma omp parallel for
    for (int p = 0; p < parts; ++p) {
      const std::int64_t begin = kElements * p / parts, end = kElements * (p + 1) / parts;
      std::memcpy(dst.data<float>() + begin, src.data<float>() + begin, (end - begin) * sizeof(float));
    }
    benchmark::ClobberMemory();
  });
}

}  // namespace

BENCHMARK(BM_Add)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Mul)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Relu)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Memcpy)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MemcpyParallel)->Unit(benchmark::kMillisecond)->UseRealTime();
