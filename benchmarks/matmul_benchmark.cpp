// lamina's matmul against OpenBLAS's cblas_sgemm called directly, on the same shapes in the same run.
// Times are wall-clock, since the OpenMP threads work in parallel. Set the thread counts explicitly:
//   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ./matmul_benchmark   (benchmarks/kernels.py runs the recorded set)
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <lamina/lamina.h>

using namespace lamina;

namespace {

void count_flops(benchmark::State& state, std::int64_t m, std::int64_t k, std::int64_t n) {
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * m * k * n, benchmark::Counter::kIsIterationInvariantRate);
}

// [m, k] · [k, n], float32.
void BM_LaminaMatmul(benchmark::State& state) {
  const std::int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  const Tensor a = randn({m, k}), b = randn({k, n});
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b).raw_data());
  count_flops(state, m, k, n);
}

void BM_OpenBlasSgemm(benchmark::State& state) {
  const std::int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  const Tensor a = randn({m, k}), b = randn({k, n}), c = zeros({m, n});
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a.data<float>(), k, b.data<float>(), n, 0.0f,
                c.data<float>(), n);
    benchmark::ClobberMemory();
  }
  count_flops(state, m, k, n);
}

}  // namespace

// The MLP's first layer (batch 256, 784 inputs, 256 outputs) and a large square product.
BENCHMARK(BM_LaminaMatmul)
    ->Args({256, 784, 256})->Args({1024, 1024, 1024})->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_OpenBlasSgemm)
    ->Args({256, 784, 256})->Args({1024, 1024, 1024})->Unit(benchmark::kMicrosecond)->UseRealTime();
