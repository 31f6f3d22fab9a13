// conv2d forward and forward+backward on LeNet's two convolutions at batch 256, in GFLOP/s, next to OpenBLAS's
// sgemm on the GEMM a forward pass lowers to (im2col: [out_channels, in_channels·k·k] · [in_channels·k·k, batch·
// out_size²]), the rate the convolution's FLOPs would run at as one big GEMM. Set the threads from outside, e.g.
// OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ./conv_benchmark; conv_reference.py times PyTorch's F.conv2d on the same
// shapes for comparison.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <lamina/core/autograd.h>
#include <lamina/core/conv.h>
#include <lamina/core/random.h>

namespace {

using namespace lamina;

struct ConvShape {
  std::int64_t batch, in_channels, size, out_channels, kernel, padding;
  bool input_grad;  // false for a first layer, whose input is data
};

std::int64_t out_size(const ConvShape& s) { return s.size + 2 * s.padding - s.kernel + 1; }

// Multiply-adds of one pass (forward, or either of the two backward GEMMs), counted as 2 FLOPs each.
double pass_flops(const ConvShape& s) {
  return 2.0 * s.batch * s.out_channels * out_size(s) * out_size(s) * s.in_channels * s.kernel * s.kernel;
}

struct Inputs {
  Tensor x, weight, bias;
};

Inputs make_inputs(const ConvShape& s) {
  Generator gen(0);
  Inputs in{rand({s.batch, s.in_channels, s.size, s.size}, {}, -1, 1, &gen),
            rand({s.out_channels, s.in_channels, s.kernel, s.kernel}, {}, -0.2, 0.2, &gen),
            rand({s.out_channels}, {}, -0.2, 0.2, &gen)};
  return in;
}

void BM_Conv2dForward(benchmark::State& state, ConvShape s) {
  const Inputs in = make_inputs(s);
  NoGradGuard no_grad;
  for (auto _ : state) {
    const Tensor y = conv2d(in.x, in.weight, in.bias, {.padding = s.padding});
    benchmark::DoNotOptimize(y.raw_data());
  }
  state.counters["GFLOP"] = benchmark::Counter(pass_flops(s) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Conv2dForwardBackward(benchmark::State& state, ConvShape s) {
  Inputs in = make_inputs(s);
  in.x.requires_grad_(s.input_grad);
  in.weight.requires_grad_();
  in.bias.requires_grad_();
  Generator gen(1);
  const Tensor grad_out = rand({s.batch, s.out_channels, out_size(s), out_size(s)}, {}, -1, 1, &gen);
  for (auto _ : state) {
    in.x.set_grad(Tensor());
    in.weight.set_grad(Tensor());
    in.bias.set_grad(Tensor());
    const Tensor y = conv2d(in.x, in.weight, in.bias, {.padding = s.padding});
    y.backward(grad_out);
    benchmark::DoNotOptimize(in.weight.grad().raw_data());
  }
  const double passes = s.input_grad ? 3 : 2;
  state.counters["GFLOP"] =
      benchmark::Counter(passes * pass_flops(s) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_OpenBlasSgemm(benchmark::State& state, ConvShape s) {
  const std::int64_t m = s.out_channels, k = s.in_channels * s.kernel * s.kernel, n = s.batch * out_size(s) * out_size(s);
  const Tensor a = randn({m, k}), b = randn({k, n}), c = zeros({m, n});
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                1.0f, a.data<float>(), static_cast<int>(k), b.data<float>(), static_cast<int>(n), 0.0f, c.data<float>(),
                static_cast<int>(n));
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP"] = benchmark::Counter(pass_flops(s) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// LeNet-5 on 28x28 images: conv1 1->6 5x5 padding 2 on the images, conv2 6->16 5x5 on the pooled 14x14 maps.
const ConvShape kConv1{256, 1, 28, 6, 5, 2, false};
const ConvShape kConv2{256, 6, 14, 16, 5, 0, true};
// ResNet-18's 3x3 convolutions of each stage on 28x28 images (its small-image stem: no downsampling before stage 1),
// batch 16 as in train_step.py.
const ConvShape kStage1{16, 64, 28, 64, 3, 1, true};
const ConvShape kStage2{16, 128, 14, 128, 3, 1, true};
const ConvShape kStage3{16, 256, 7, 256, 3, 1, true};
const ConvShape kStage4{16, 512, 4, 512, 3, 1, true};

}  // namespace

BENCHMARK_CAPTURE(BM_Conv2dForward, lenet_conv1, kConv1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Conv2dForward, lenet_conv2, kConv2)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Conv2dForwardBackward, lenet_conv1, kConv1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Conv2dForwardBackward, lenet_conv2, kConv2)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OpenBlasSgemm, lenet_conv1, kConv1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OpenBlasSgemm, lenet_conv2, kConv2)->Unit(benchmark::kMillisecond);

BENCHMARK_CAPTURE(BM_Conv2dForwardBackward, resnet_stage1, kStage1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Conv2dForwardBackward, resnet_stage2, kStage2)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Conv2dForwardBackward, resnet_stage3, kStage3)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Conv2dForwardBackward, resnet_stage4, kStage4)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OpenBlasSgemm, resnet_stage1, kStage1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OpenBlasSgemm, resnet_stage2, kStage2)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OpenBlasSgemm, resnet_stage3, kStage3)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OpenBlasSgemm, resnet_stage4, kStage4)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
