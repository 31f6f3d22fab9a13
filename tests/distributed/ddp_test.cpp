// DistributedDataParallel: N ranks with per-rank batch B/N must end where one process with batch B ends.
#include <gtest/gtest.h>

#include <cmath>
#include <ranges>

#include <lamina/distributed/distributed_data_parallel.h>
#include <lamina/distributed/distributed_sampler.h>
#include <lamina/distributed/mpi_process_group.h>
#include <lamina/distributed/step_trace.h>
#include <lamina/distributed/sync_batch_norm.h>
#include <lamina/lamina.h>
#include <lamina/nn/mlp.h>
#include <lamina/nn/sgd.h>

#include "expect.h"

using namespace lamina;
using lamina::testing::expect_contains;
using lamina::testing::message_of;
using namespace lamina::distributed;

namespace {

std::shared_ptr<ProcessGroup> world() {
  static auto group = std::make_shared<MpiProcessGroup>(ProcessGroupOptions{.timeout = std::chrono::seconds(60)});
  return group;
}


// A model with a layer used twice and a branch it never uses.
struct SharedAndUnused : nn::Module {
  nn::Child<nn::Linear> shared{this, "shared", 6, nn::LinearOptions{.in_features = 6, .activation = nn::Activation::Tanh}};
  nn::Child<nn::Linear> unused{this, "unused", 3, nn::LinearOptions{.in_features = 6}};
  nn::Child<nn::Linear> head{this, "head", 4, nn::LinearOptions{.in_features = 6}};
  Tensor forward(const Tensor& x) override { return head(shared(shared(x))); }
};

using ModelFactory = std::function<std::shared_ptr<nn::Module>()>;

std::shared_ptr<nn::Module> make_mlp() {
  return std::make_shared<nn::MLP>(nn::MLPOptions{.hidden = {16, 8}, .num_classes = 4});
}
std::shared_ptr<nn::Module> make_shared_and_unused() { return std::make_shared<SharedAndUnused>(); }

// An MLP with BatchNorm between its layers: under DDP its BatchNorms are converted to SyncBatchNorm.
std::shared_ptr<nn::Module> make_batch_norm_mlp() {
  return std::make_shared<nn::Sequential>(nn::Linear(12, {.in_features = 6}), nn::BatchNorm1d(12), nn::ReLU(),
                                          nn::Linear(4));
}

// Trains the model (in float64) for `steps` steps of SGD with momentum on fixed global batches of 32 — whole when
// `distributed` is false, else this rank's slice of each under DDP — and returns the final parameters.
std::vector<double> train(const ModelFactory& make, bool distributed, int steps, DdpOptions options = {}) {
  manual_seed(42);
  std::shared_ptr<nn::Module> model = make();
  model->to(DType::Float64);
  const int rank = distributed ? world()->rank() : 0;
  const int size = distributed ? world()->size() : 1;
  std::shared_ptr<nn::Module> runner = model;
  if (distributed) {
    convert_sync_batch_norm(*model, world());
    runner = std::make_shared<DistributedDataParallel>(model, world(), options);
  }
  nn::SGD optimizer(runner->named_parameters(), {.lr = 0.05, .momentum = 0.9});
  const std::int64_t global_batch = 32;
  Generator data(7);
  for (int step = 0; step < steps; ++step) {
    const Tensor x = randn({global_batch, 6}, {.dtype = DType::Float64}, 0, 1, &data);
    std::vector<std::int64_t> labels(global_batch);
    for (std::int64_t i = 0; i < global_batch; ++i) labels[i] = (i * 3 + step) % 4;
    const Tensor y = from_vector<std::int64_t>(labels, {global_batch});
    const std::int64_t per_rank = global_batch / size;
    optimizer.zero_grad();
    cross_entropy((*runner)(x.slice(0, rank * per_rank, (rank + 1) * per_rank)),
                  y.slice(0, rank * per_rank, (rank + 1) * per_rank))
        .backward();
    optimizer.step();
  }
  std::vector<double> out;
  for (const Tensor& p : model->state_dict() | std::views::values)
    for (double v : p.to_vector<double>()) out.push_back(v);
  return out;
}

double max_relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(1e-12, std::abs(b[i])));
  return worst;
}

}  // namespace

TEST(DistributedDataParallel, MlpMatchesSingleProcessWithTheGlobalBatch) {
  const auto reference = train(make_mlp, false, 5);
  EXPECT_LT(max_relative_difference(train(make_mlp, true, 5), reference), 1e-6);
}

TEST(DistributedDataParallel, BatchNormModelWithSyncBatchNormMatchesSingleProcess) {
  // Parameters and the running statistics (buffers) both match.
  const auto reference = train(make_batch_norm_mlp, false, 5);
  EXPECT_LT(max_relative_difference(train(make_batch_norm_mlp, true, 5), reference), 1e-6);
}

TEST(DistributedDataParallel, SharedLayerAndUnusedBranchWithFindUnused) {
  const auto reference = train(make_shared_and_unused, false, 4);
  EXPECT_LT(max_relative_difference(train(make_shared_and_unused, true, 4, {.find_unused_parameters = true}), reference), 1e-6);
}

TEST(DistributedDataParallel, FrozenParametersAreBroadcastButNeitherBucketedNorReduced) {
  // The first layer is frozen (fine-tuning): DDP must start every replica from rank 0's copy of it and leave it alone.
  const ModelFactory make_frozen = [] {
    auto model = std::make_shared<nn::MLP>(nn::MLPOptions{.hidden = {16, 8}, .num_classes = 4});
    model->operator()(zeros({1, 6}));
    for (std::size_t k : {0, 1}) model->parameters()[k].requires_grad_(false);
    return model;
  };
  const auto reference = train(make_frozen, false, 3);
  EXPECT_LT(max_relative_difference(train(make_frozen, true, 3), reference), 1e-6);

  manual_seed(100 + world()->rank());  // a different first layer on every rank
  auto model = make_frozen();
  DistributedDataParallel ddp(model, world());
  std::size_t bucketed = 0;
  for (const Bucket& bucket : ddp.reducer()->buckets()) bucketed += bucket.parameters.size();
  EXPECT_EQ(bucketed, 4u);
  Tensor root_copy = model->parameters()[0].detach().clone();
  world()->broadcast(root_copy, 0)->wait();
  EXPECT_EQ(model->parameters()[0].to_vector<float>(), root_copy.to_vector<float>())
      << "rank " << world()->rank() << " kept its own frozen layer";

  // Frozen on one rank only: the replicas differ, and every rank says where.
  auto half_frozen = make_mlp();
  half_frozen->operator()(zeros({1, 6}));
  if (world()->rank() == 1) half_frozen->parameters()[0].requires_grad_(false);
  const std::string name = half_frozen->named_parameters().front().first;
  const std::string msg = message_of<std::exception>([&] { DistributedDataParallel wrapped(half_frozen, world()); });
  EXPECT_NE(msg.find("frozen parameter '" + name + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("on rank 1"), std::string::npos) << msg;
}

TEST(DistributedDataParallel, UnusedParameterWithoutFindUnusedIsNamed) {
  const std::string msg = message_of<std::exception>([] { train(make_shared_and_unused, true, 1); });
  expect_contains(msg, {"unused.weight"});
  expect_contains(msg, {"find_unused_parameters"});
}

TEST(DistributedDataParallel, BucketEdgeCases) {
  const auto reference = train(make_mlp, false, 3);
  // One bucket for everything; a bucket per parameter (each larger than the cap); tiny buckets.
  for (const DdpOptions& options : {DdpOptions{.bucket_cap_bytes = 1 << 30, .first_bucket_cap_bytes = 1 << 30},
                                    DdpOptions{.bucket_cap_bytes = 1, .first_bucket_cap_bytes = 1},
                                    DdpOptions{.bucket_cap_bytes = 200, .first_bucket_cap_bytes = 64}}) {
    EXPECT_LT(max_relative_difference(train(make_mlp, true, 3, options), reference), 1e-6)
        << "bucket cap " << options.bucket_cap_bytes;
  }
}

TEST(DistributedDataParallel, BucketsFollowReverseRegistrationOrderWithASmallFirstBucket) {
  auto model = std::make_shared<nn::MLP>(nn::MLPOptions{.hidden = {64}, .num_classes = 4});
  model->to(DType::Float64);
  model->operator()(zeros({1, 32}, {.dtype = DType::Float64}));
  // Parameters: 0.weight [64,32] (16 KiB), 0.bias, 1.weight [4,64] (2 KiB), 1.bias.
  DistributedDataParallel ddp(model, world(), {.bucket_cap_bytes = 1 << 20, .first_bucket_cap_bytes = 2048 + 32});
  const auto& buckets = ddp.reducer()->buckets();
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_EQ(buckets[0].parameters, (std::vector<std::size_t>{3, 2}));  // the last layer first
  EXPECT_EQ(buckets[1].parameters, (std::vector<std::size_t>{1, 0}));
  // Gradients are views into the buckets.
  EXPECT_EQ(model->parameters()[2].grad().storage().data(), buckets[0].buffer.storage().data());
}

TEST(DistributedDataParallel, ALinearLayersWeightGradientIsComputedInItsBucket) {
  // 0.weight [11000, 6] float64 = 516 KiB >= kOwnBucketBytes: a bucket of its own, after the small ones.
  const ModelFactory make_wide = [] { return std::make_shared<nn::MLP>(nn::MLPOptions{.hidden = {11000}, .num_classes = 4}); };
  EXPECT_LT(max_relative_difference(train(make_wide, true, 3), train(make_wide, false, 3)), 1e-6);

  const auto without_shared_memory = std::make_shared<MpiProcessGroup>(ProcessGroupOptions{.shared_memory = false});
  for (const std::shared_ptr<ProcessGroup>& group : {world(), std::static_pointer_cast<ProcessGroup>(without_shared_memory)}) {
    auto model = make_wide();
    model->to(DType::Float64);
    model->operator()(zeros({1, 6}, {.dtype = DType::Float64}));
    // Registered before DDP's, these hooks see the gradients as backward produced them.
    std::vector<const void*> produced(4);
    for (std::size_t k = 0; k < 4; ++k)
      model->parameters()[k].register_post_accumulate_grad_hook([&produced, k](Tensor& p) { produced[k] = p.grad().storage().data(); });
    DistributedDataParallel ddp(model, group);
    const auto& buckets = ddp.reducer()->buckets();
    ASSERT_EQ(buckets.size(), 2u);
    EXPECT_EQ(buckets[0].parameters, (std::vector<std::size_t>{3, 2, 1}));
    EXPECT_EQ(buckets[1].parameters, (std::vector<std::size_t>{0}));
    // The buckets as built: a bucket that is not symmetric would be replaced by a large gradient arriving fresh.
    const void* bucket0 = buckets[0].buffer.storage().data();
    const void* bucket1 = buckets[1].buffer.storage().data();
    nn::SGD optimizer(ddp.named_parameters(), {.lr = 0.1});
    for (int step = 0; step < 2; ++step) {
      optimizer.zero_grad();  // gradients set to none: backward computes them anew
      ddp(randn({4, 6}, {.dtype = DType::Float64})).sum().backward();
      // Both weights and the hidden layer's bias (linear_relu's) arrive in their buckets; the output layer's bias
      // comes from a sum, in a new tensor.
      EXPECT_EQ(buckets[1].buffer.storage().data(), bucket1) << "step " << step;
      EXPECT_EQ(produced[0], bucket1) << "step " << step;
      EXPECT_EQ(produced[1], bucket0) << "step " << step;
      EXPECT_EQ(produced[2], bucket0) << "step " << step;
      EXPECT_NE(produced[3], bucket0) << "step " << step;
      EXPECT_EQ(model->parameters()[0].grad().storage().data(), buckets[1].buffer.storage().data()) << "step " << step;
      EXPECT_EQ(model->parameters()[1].grad().storage().data(), buckets[0].buffer.storage().data()) << "step " << step;
      optimizer.step();
    }
  }
}

namespace {

// A parameter of 516 KiB whose gradient comes from an elementwise product: backward computes it in a new tensor.
struct WideScale : nn::Module {
  Tensor scale = register_parameter("scale", {66000}, nn::init::constant(1.0));
  Tensor forward(const Tensor& x) override { return x * scale; }
};

}  // namespace

TEST(DistributedDataParallel, AFreshLargeGradientIsCopiedIntoASymmetricBucketAndBecomesAnyOtherBucket) {
  // Two ranks on one node get symmetric buckets (reduced in place, faster than the copies the channel's slots
  // make): there the gradient is copied into its bucket. Otherwise the gradient becomes the bucket.
  const auto without_shared_memory = std::make_shared<MpiProcessGroup>(ProcessGroupOptions{.shared_memory = false});
  for (const std::shared_ptr<ProcessGroup>& group : {world(), std::static_pointer_cast<ProcessGroup>(without_shared_memory)}) {
    manual_seed(3);
    auto model = std::make_shared<WideScale>();
    model->to(DType::Float64);
    const void* produced = nullptr;
    model->scale.register_post_accumulate_grad_hook([&](Tensor& p) { produced = p.grad().storage().data(); });
    DistributedDataParallel ddp(model, group);
    const auto& buckets = ddp.reducer()->buckets();
    ASSERT_EQ(buckets.size(), 1u);
    const bool symmetric = group == world() && std::static_pointer_cast<MpiProcessGroup>(world())->uses_shared_memory();
    EXPECT_EQ(buckets[0].symmetric, symmetric);
    const void* bucket = buckets[0].buffer.storage().data();
    nn::SGD optimizer(ddp.named_parameters(), {.lr = 0.1});
    for (int step = 0; step < 2; ++step) {
      optimizer.zero_grad();
      // Rank r's input is r + 1 everywhere: the averaged gradient is (1 + ... + size) / size.
      ddp(full({2, 66000}, group->rank() + 1.0, {.dtype = DType::Float64})).sum().backward();
      if (symmetric) {
        EXPECT_EQ(buckets[0].buffer.storage().data(), bucket) << "step " << step << ": the bucket was replaced";
        EXPECT_NE(produced, bucket) << "step " << step;
      } else {
        EXPECT_EQ(buckets[0].buffer.storage().data(), produced) << "step " << step << ": the gradient was copied";
      }
      const Tensor grad = model->scale.grad();
      EXPECT_EQ(grad.storage().data(), buckets[0].buffer.storage().data()) << "step " << step;
      // The grad destination follows the bucket, so a bucket that was replaced can be freed.
      EXPECT_EQ(Tensor(model->scale.impl().grad_destination).storage().data(), buckets[0].buffer.storage().data());
      const double expected = 2 * (group->size() + 1) / 2.0;
      EXPECT_EQ(grad.to_vector<double>()[0], expected);
      EXPECT_EQ(grad.to_vector<double>()[65999], expected);
      optimizer.step();
    }
  }
}

TEST(DistributedDataParallel, NoSyncAccumulatesThenReducesEverything) {
  // Two micro-batches under no_sync + one synced = the mean of the per-rank gradients of all three.
  auto model = make_mlp();
  model->to(DType::Float64);
  model->operator()(zeros({1, 6}, {.dtype = DType::Float64}));
  DistributedDataParallel ddp(model, world());
  const int rank = world()->rank();
  Generator gen(100 + rank);  // different data on every rank
  std::vector<Tensor> xs;
  for (int i = 0; i < 3; ++i) xs.push_back(randn({4, 6}, {.dtype = DType::Float64}, 0, 1, &gen));
  {
    auto guard = ddp.no_sync();
    ddp(xs[0]).sum().backward();
    ddp(xs[1]).sum().backward();
  }
  ddp(xs[2]).sum().backward();
  // Expected: average over ranks of this rank's accumulated local gradient.
  auto local = make_mlp();
  local->to(DType::Float64);
  local->operator()(zeros({1, 6}, {.dtype = DType::Float64}));
  local->load_state_dict(model->state_dict());
  for (const Tensor& x : xs) (*local)(x).sum().backward();
  for (std::size_t i = 0; i < local->parameters().size(); ++i) {
    Tensor expected = local->parameters()[i].grad().clone();
    world()->allreduce(expected, ReduceOp::Average)->wait();
    EXPECT_LT(max_relative_difference(model->parameters()[i].grad().to_vector<double>(), expected.to_vector<double>()), 1e-12);
  }
}

TEST(DistributedDataParallel, BuffersAreBroadcastFromRankZeroBeforeEveryForwardUnlessTurnedOff) {
  for (bool broadcast : {true, false}) {
    SCOPED_TRACE(broadcast ? "broadcast_buffers" : "no broadcast_buffers");
    auto model = make_batch_norm_mlp();  // BatchNorm1d: float32 running statistics and an int64 batch count
    model->operator()(zeros({2, 6}));
    DistributedDataParallel ddp(model, world(), {.broadcast_buffers = broadcast});
    // What ranks whose BatchNorms saw different batches would hold.
    const double mine = world()->rank() + 1;
    for (auto& [name, t] : model->named_buffers()) t.fill_(mine);
    ddp.eval();  // in eval mode the forward leaves the statistics as they are
    ddp(rand({2, 6}));
    for (const auto& [name, t] : model->named_buffers())
      EXPECT_EQ(t.to(DType::Float64).to_vector<double>(), std::vector<double>(static_cast<std::size_t>(t.numel()), broadcast ? 1.0 : mine))
          << name;
  }
}

TEST(DistributedDataParallel, DeferredParametersAreMaterializedCheckedAndBroadcast) {
  manual_seed(1000 + world()->rank());  // different initial weights on every rank
  auto model = std::make_shared<nn::MLP>(nn::MLPOptions{.hidden = {8}, .num_classes = 3});
  DistributedDataParallel ddp(model, world());
  EXPECT_EQ(ddp.reducer(), nullptr);
  ddp(rand({2, 5})).sum().backward();
  ASSERT_NE(ddp.reducer(), nullptr);
  EXPECT_EQ(model->parameters()[0].shape(), (Shape{8, 5}));
  EXPECT_NO_THROW(ddp.check_replicas());
}

TEST(DistributedDataParallel, StateDictHasTheBareModelsKeys) {
  auto model = make_mlp();
  model->operator()(zeros({1, 6}));
  DistributedDataParallel ddp(model, world());
  EXPECT_EQ(ddp.state_dict().keys(), model->state_dict().keys());
  EXPECT_EQ(ddp.state_dict().keys().front(), "1.weight");
}

TEST(DistributedDataParallel, AModelThatOutlivesItsWrapperTrainsAlone) {
  auto model = make_mlp();
  model->to(DType::Float64);
  model->operator()(zeros({1, 6}, {.dtype = DType::Float64}));
  const Tensor x = full({4, 6}, world()->rank() + 1.0, {.dtype = DType::Float64});
  std::vector<Tensor> buckets;  // held, so that no new tensor can take their place in memory
  {
    DistributedDataParallel ddp(model, world());
    ddp(x).sum().backward();
    for (const Bucket& bucket : ddp.reducer()->buckets()) buckets.push_back(bucket.buffer);
  }
  // The wrapper's reducer is gone: backward must neither reach it nor write into its buckets.
  for (Tensor& p : model->parameters()) {
    EXPECT_TRUE(p.impl().post_accumulate_grad_hooks.empty());
    p.set_grad(Tensor());
  }
  (*model)(x).sum().backward();
  for (Tensor& p : model->parameters())
    for (const Tensor& bucket : buckets) EXPECT_NE(p.grad().storage().data(), bucket.storage().data());
  // Rank r's gradient is its own (not averaged): compare with the same model and input on this rank alone.
  auto replica = make_mlp();
  replica->to(DType::Float64);
  replica->operator()(zeros({1, 6}, {.dtype = DType::Float64}));
  replica->load_state_dict(model->state_dict());
  (*replica)(x).sum().backward();
  for (std::size_t k = 0; k < model->parameters().size(); ++k)
    EXPECT_EQ(model->parameters()[k].grad().to_vector<double>(), replica->parameters()[k].grad().to_vector<double>()) << k;
}

TEST(DistributedDataParallel, DifferentModelsOnRanksNameTheFirstDifference) {
  if (world()->size() < 2) GTEST_SKIP() << "needs 2 ranks";
  const std::int64_t width = world()->rank() == 1 ? 9 : 8;
  auto model = std::make_shared<nn::MLP>(nn::MLPOptions{.hidden = {width}, .num_classes = 3});
  model->operator()(zeros({1, 5}));
  const std::string msg = message_of<std::exception>([&] { DistributedDataParallel ddp(model, world()); });
  expect_contains(msg, {"'1.weight' [8, 5] float32 on rank 0"});
  expect_contains(msg, {"'1.weight' [9, 5] float32 on rank 1"});
}

TEST(DistributedSampler, ShardsAreDisjointEqualAndCoverTheEpoch) {
  const int size = world()->size();
  const std::int64_t n = 10;
  std::vector<int> seen(n, 0);
  std::int64_t length = -1;
  for (int r = 0; r < size; ++r) {
    DistributedSampler sampler(n, r, size, {.seed = 3});
    const auto shard = sampler.indices(2);
    if (length < 0) length = static_cast<std::int64_t>(shard.size());
    EXPECT_EQ(static_cast<std::int64_t>(shard.size()), length);
    for (std::int64_t i : shard) ++seen[i];
  }
  for (std::int64_t i = 0; i < n; ++i) EXPECT_GE(seen[i], 1) << i;  // padding repeats a few, none is missed
  EXPECT_EQ(length * size - n, (size - n % size) % size);
  DistributedSampler a(n, 0, size, {.seed = 3}), b(n, 0, size, {.seed = 3});
  EXPECT_EQ(a.indices(1), b.indices(1));
  EXPECT_NE(a.indices(1), a.indices(2));
}

TEST(StepTrace, RecordsEveryBucketOfEveryStep) {
  auto model = make_mlp();
  model->operator()(zeros({1, 6}));
  DistributedDataParallel ddp(model, world(), {.bucket_cap_bytes = 256, .first_bucket_cap_bytes = 64});
  StepTrace trace;
  for (int step = 0; step < 3; ++step) {
    ddp(rand({4, 6})).sum().backward();
    trace.record(*ddp.reducer());
  }
  const std::size_t buckets = ddp.reducer()->buckets().size();
  ASSERT_GT(buckets, 2u);
  for (const BucketTiming& t : ddp.reducer()->last_timings()) {
    EXPECT_LE(t.ready_us, t.launched_us);
    EXPECT_LE(t.launched_us, t.done_us);
  }
  const std::string json = trace.json(world()->rank());
  const auto count = [&](const std::string& text) {
    std::size_t n = 0;
    for (std::size_t at = json.find(text); at != std::string::npos; at = json.find(text, at + 1)) ++n;
    return n;
  };
  // Per step: forward + backward, the wait after it, and each bucket's all-reduce; an instant when each is ready.
  EXPECT_EQ(count("\"ph\": \"X\""), 3 * (buckets + 2));
  EXPECT_EQ(count("\"ph\": \"i\""), 3 * buckets);
  EXPECT_EQ(count("\"name\": \"bucket 0 ready\""), 3u);
  EXPECT_EQ(json.rfind("{\"traceEvents\": [", 0), 0u);
  EXPECT_GE(trace.hidden_fraction(), 0.0);
  EXPECT_LE(trace.hidden_fraction(), 1.0);
}
