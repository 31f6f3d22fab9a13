// NcclProcessGroup: skipped without one GPU per rank (the reason is printed); the set-up failure path runs
// everywhere else.
#include <mpi.h>

#include <cuda_runtime.h>

#include <chrono>
#include <cmath>

#include <gtest/gtest.h>

#include <lamina/distributed/distributed_data_parallel.h>
#include <lamina/distributed/environment.h>
#include <lamina/distributed/nccl_process_group.h>
#include <lamina/distributed/sync_batch_norm.h>
#include <lamina/lamina.h>
#include <lamina/nn/batch_norm.h>
#include <lamina/nn/mlp.h>

using namespace lamina;
using namespace lamina::distributed;

namespace {

// Why this job cannot run NCCL, or "" when every rank has its own GPU. All ranks agree, so they skip together.
std::string missing_gpu_reason() {
  int count = 0;
  std::string reason;
  if (const cudaError_t rc = cudaGetDeviceCount(&count); rc != cudaSuccess) {
    cudaGetLastError();
    reason = std::string("no usable CUDA device (cudaGetDeviceCount: ") + cudaGetErrorString(rc) + ")";
  } else if (count < environment().local_size) {
    reason = "NCCL needs one GPU per rank: " + std::to_string(count) + " device(s) for " +
             std::to_string(environment().local_size) + " ranks on this host";
  }
  int missing = reason.empty() ? 0 : 1;
  MPI_Allreduce(MPI_IN_PLACE, &missing, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (missing && reason.empty()) reason = "another rank has no GPU of its own";
  return reason;
}

template <typename T> Tensor on_device(const std::vector<T>& values, int device) {
  const std::size_t bytes = values.size() * sizeof(T);
  cudaSetDevice(device);
  void* p = nullptr;
  if (cudaMalloc(&p, std::max<std::size_t>(bytes, 1)) != cudaSuccess) throw std::runtime_error("cudaMalloc failed");
  cudaMemcpy(p, values.data(), bytes, cudaMemcpyHostToDevice);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage(std::shared_ptr<void>(p, [](void* q) { cudaFree(q); }), bytes, Device::cuda(device));
  impl->shape = {static_cast<std::int64_t>(values.size())};
  impl->strides = {1};
  impl->dtype = dtype_of<T>();
  return Tensor(std::move(impl));
}

template <typename T> std::vector<T> on_host(const Tensor& t) {
  std::vector<T> v(static_cast<std::size_t>(t.numel()));
  cudaMemcpy(v.data(), t.raw_data(), v.size() * sizeof(T), cudaMemcpyDeviceToHost);
  return v;
}

#define SKIP_WITHOUT_GPUS()                                          \
  if (const std::string reason = missing_gpu_reason(); !reason.empty()) \
  GTEST_SKIP() << reason

}  // namespace

TEST(NcclProcessGroup, WithoutAGpuEveryRankThrowsInsteadOfHanging) {
  if (missing_gpu_reason().empty()) GTEST_SKIP() << "every rank has a GPU: the failure path cannot be provoked";
  try {
    NcclProcessGroup pg;
    FAIL() << "NcclProcessGroup started without a GPU";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("NcclProcessGroup rank " + std::to_string(environment().world_rank)),
              std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("CUDA set-up failed"), std::string::npos) << e.what();
  }
}

TEST(NcclProcessGroup, AllreduceSumAverageMax) {
  SKIP_WITHOUT_GPUS();
  NcclProcessGroup pg;
  EXPECT_EQ(pg.device(), environment().local_rank);
  const int n = pg.size();
  for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Average, ReduceOp::Max}) {
    Tensor f = on_device<float>({1.0f * (pg.rank() + 1), -2.0f, 4.0f * pg.rank()}, pg.device());
    Tensor l = on_device<std::int64_t>({(std::int64_t{1} << 58) + pg.rank()}, pg.device());
    pg.allreduce(f, op)->wait();
    pg.allreduce(l, op == ReduceOp::Average ? ReduceOp::Sum : op)->wait();
    const float sum0 = n * (n + 1) / 2.0f, sum2 = 4.0f * n * (n - 1) / 2.0f;
    const std::vector<float> expected = op == ReduceOp::Sum       ? std::vector<float>{sum0, -2.0f * n, sum2}
                                        : op == ReduceOp::Average ? std::vector<float>{sum0 / n, -2.0f, sum2 / n}
                                                                  : std::vector<float>{1.0f * n, -2.0f, 4.0f * (n - 1)};
    const std::vector<float> got = on_host<float>(f);
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(got[i], expected[i], 1e-6) << reduce_op_name(op) << " index " << i;
    const std::int64_t big = std::int64_t{1} << 58;
    EXPECT_EQ(on_host<std::int64_t>(l)[0], op == ReduceOp::Max ? big + n - 1 : n * big + n * (n - 1) / 2);
  }
}

TEST(NcclProcessGroup, BroadcastAllgatherReduceScatterBarrier) {
  SKIP_WITHOUT_GPUS();
  NcclProcessGroup pg;
  const int n = pg.size(), r = pg.rank();
  Tensor b = on_device<double>({1.0 * r, 2.0 * r}, pg.device());
  pg.broadcast(b, n - 1)->wait();
  EXPECT_EQ(on_host<double>(b), (std::vector<double>{1.0 * (n - 1), 2.0 * (n - 1)}));

  Tensor in = on_device<float>({10.0f * r, 10.0f * r + 1}, pg.device());
  std::vector<Tensor> outs;
  for (int k = 0; k < n; ++k) outs.push_back(on_device<float>({0.0f, 0.0f}, pg.device()));
  pg.allgather(outs, in)->wait();
  for (int k = 0; k < n; ++k) EXPECT_EQ(on_host<float>(outs[static_cast<std::size_t>(k)]), (std::vector<float>{10.0f * k, 10.0f * k + 1}));

  std::vector<float> blocks;
  for (int k = 0; k < n; ++k) blocks.push_back(static_cast<float>(k + r));
  Tensor scattered = on_device<float>({0.0f}, pg.device());
  pg.reduce_scatter(scattered, on_device<float>(blocks, pg.device()))->wait();
  EXPECT_EQ(on_host<float>(scattered)[0], static_cast<float>(n * r + n * (n - 1) / 2));

  pg.barrier()->wait();
}

TEST(NcclProcessGroup, CollectivesSeeWorkQueuedOnTheComputeStreamAndRunInOrder) {
  SKIP_WITHOUT_GPUS();
  NcclProcessGroup pg;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Work>> works;
  for (int k = 0; k < 20; ++k) {
    tensors.push_back(on_device<float>(std::vector<float>(1000 + 100 * k, 5.0f), pg.device()));
    // Zeroed asynchronously on the default stream just before the call: the collective must see the zeros.
    cudaMemsetAsync(tensors.back().raw_data(), 0, tensors.back().numel() * sizeof(float), nullptr);
    works.push_back(pg.allreduce(tensors.back()));
  }
  for (auto it = works.rbegin(); it != works.rend(); ++it) (*it)->wait();
  for (const Tensor& t : tensors) EXPECT_EQ(on_host<float>(t)[0], 0.0f);
}

TEST(NcclProcessGroup, SignatureMismatchFailsOnEveryRank) {
  SKIP_WITHOUT_GPUS();
  NcclProcessGroup pg;
  Tensor t = on_device<float>(std::vector<float>(pg.rank() == 0 ? 4 : 8, 1.0f), pg.device());
  try {
    pg.allreduce(t)->wait();
    FAIL() << "mismatched all-reduces ran";
  } catch (const CollectiveError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0 called allreduce(sum, 16 bytes of float32, sequence 0)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("allreduce(sum, 32 bytes of float32, sequence 0)"), std::string::npos) << e.what();
  }
}

// DDP with each rank's replica on its own GPU, gradients averaged over NCCL: they equal the ranks' CPU gradients
// averaged over MPI.
TEST(NcclProcessGroup, DdpOnTheRanksGpusAveragesGradientsLikeTheCpu) {
  SKIP_WITHOUT_GPUS();
  const int rank = environment().world_rank, device = environment().local_rank;
  manual_seed(5);
  auto model = std::make_shared<nn::MLP>(nn::MLPOptions{.hidden = {16}});
  nn::MLP reference(nn::MLPOptions{.hidden = {16}});
  model->eval();
  (*model)(randn({2, 12}));
  reference(randn({2, 12}));
  reference.load_state_dict(model->state_dict());
  model->to(Device::cuda(device));
  auto group = std::make_shared<NcclProcessGroup>(ProcessGroupOptions{}, MPI_COMM_WORLD, device);
  DistributedDataParallel ddp(model, group);

  Generator gen(100 + rank);  // each rank its own batch
  const Tensor x = randn({8, 12}, {}, 0.0, 1.0, &gen);
  const Tensor y = from_vector<std::int64_t>({0, 1, 2, 3, 4, 5, 6, 7}, {8});
  cross_entropy(ddp(x.to(Device::cuda(device))), y.to(Device::cuda(device))).backward();
  cross_entropy(reference(x), y).backward();

  const auto gpu_params = model->named_parameters();
  const auto cpu_params = reference.named_parameters();
  for (std::size_t i = 0; i < cpu_params.size(); ++i) {
    std::vector<double> expected = cpu_params[i].second.grad().to_vector<double>();
    MPI_Allreduce(MPI_IN_PLACE, expected.data(), static_cast<int>(expected.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    const std::vector<double> got = gpu_params[i].second.grad().to_vector<double>();
    for (std::size_t k = 0; k < got.size(); ++k)
      ASSERT_NEAR(got[k], expected[k] / group->size(), 1e-5) << cpu_params[i].first << " element " << k;
  }
}

// SyncBatchNorm with each rank's BatchNorm on its own GPU: the statistics' sums are all-reduced over NCCL on the
// device. Every rank's output, input gradient and running statistics equal the CPU's batch_norm over the global
// batch (every rank's slice, drawn from the ranks' generators), with every rank's output gradient.
TEST(NcclProcessGroup, SyncBatchNormOnTheRanksGpusMatchesTheGlobalBatchOnTheCpu) {
  SKIP_WITHOUT_GPUS();
  const int rank = environment().world_rank, device = environment().local_rank;
  auto group = std::make_shared<NcclProcessGroup>(ProcessGroupOptions{}, MPI_COMM_WORLD, device);
  nn::BatchNorm2d bn(3);
  bn.to(Device::cuda(device));
  EXPECT_EQ(convert_sync_batch_norm(bn, group), 1);

  std::vector<Tensor> xs, gs;
  for (int r = 0; r < group->size(); ++r) {
    Generator gen(200 + r);
    xs.push_back(randn({4, 3, 2, 5}, {}, 1.0, 2.0, &gen));
    gs.push_back(randn({4, 3, 2, 5}, {}, 0.0, 1.0, &gen));
  }
  Tensor x = xs[rank].to(Device::cuda(device)).requires_grad_();
  const Tensor y = bn(x);
  y.backward(gs[rank].to(Device::cuda(device)));

  Tensor global_x = cat(xs, 0).requires_grad_();
  Tensor running_mean = zeros({3}), running_var = ones({3});
  const Tensor global_y = batch_norm(global_x, ones({3}), zeros({3}), running_mean, running_var, true);
  global_y.backward(cat(gs, 0));
  const auto expect_near = [](const Tensor& got, const Tensor& expected, const char* what) {
    const std::vector<double> a = got.to_vector<double>(), e = expected.contiguous().to_vector<double>();
    ASSERT_EQ(a.size(), e.size()) << what;
    for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], e[i], 1e-4 + 1e-4 * std::abs(e[i])) << what << " element " << i;
  };
  expect_near(y, global_y.slice(0, 4 * rank, 4 * rank + 4), "output");
  expect_near(x.grad(), global_x.grad().slice(0, 4 * rank, 4 * rank + 4), "input gradient");
  expect_near(bn.running_mean, running_mean, "running mean");
  expect_near(bn.running_var, running_var, "running variance");
}
