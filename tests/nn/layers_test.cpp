#include <gtest/gtest.h>

#include <lamina/lamina.h>
#include <lamina/nn/batch_norm.h>
#include <lamina/nn/dropout.h>
#include <lamina/nn/embedding.h>
#include <lamina/nn/layer_norm.h>

#include "nn/module_gradcheck.h"

using namespace lamina;
using lamina::testing::module_gradcheck;

TEST(LayersGradCheck, BatchNormLayerNormLinearStack) {
  nn::Sequential net(nn::Linear(6, {.in_features = 4}), nn::BatchNorm1d(6), nn::Linear(5), nn::LayerNorm({5}), nn::GELU());
  net(rand({8, 4}));
  net.to(DType::Float64);
  Tensor x = rand({8, 4}, {.dtype = DType::Float64}).requires_grad_();
  EXPECT_LT(module_gradcheck(net, x), 1e-6);
}

TEST(LayersGradCheck, EmbeddingThenLinear) {
  nn::Sequential net(nn::Embedding(7, 3), nn::Linear(2));
  const Tensor idx = from_vector<std::int64_t>({1, 3, 3, 6}, {2, 2});
  net(idx);
  net.to(DType::Float64);
  EXPECT_LT(module_gradcheck(net, idx), 1e-6);
}

TEST(Layers, BatchNormBuffersAreStateAndSwitchWithEval) {
  nn::BatchNorm2d bn(3);
  const auto keys = bn.state_dict().keys();
  EXPECT_EQ(keys, (std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}));
  const Tensor x = add(mul(rand({4, 3, 5, 5}), 4.0), 2.0);
  const Tensor train_out = bn(x);
  EXPECT_EQ(bn.num_batches_tracked.item(), 1);
  EXPECT_GT(bn.running_mean.to_vector<float>()[0], 0.1f);  // moved 10% of the way towards the batch mean (~4)
  // Training output is normalized by batch statistics: per-channel mean ~0.
  EXPECT_NEAR(mean(train_out).item(), 0.0, 1e-5);
  bn.eval();
  const Tensor eval_out = bn(x);
  EXPECT_EQ(bn.num_batches_tracked.item(), 1);  // eval does not count batches
  EXPECT_GT(mean(eval_out).item(), 1.0);        // running stats are still far from the batch's
}

TEST(Layers, DeferredBatchNormTakesWidthAndDtypeFromInput) {
  nn::BatchNorm1d bn;
  bn(rand({4, 7}));
  EXPECT_EQ(bn.weight.shape(), (Shape{7}));
  EXPECT_EQ(bn.running_var.shape(), (Shape{7}));
}

TEST(Layers, DropoutOnlyInTraining) {
  nn::Dropout drop(0.5);
  const Tensor x = ones({1000});
  const double kept = sum(gt(drop(x), zeros({}))).item();
  EXPECT_GT(kept, 400);
  EXPECT_LT(kept, 600);
  drop.eval();
  EXPECT_EQ(drop(x).to_vector<float>(), x.to_vector<float>());
  EXPECT_THROW(nn::Dropout(1.5), std::invalid_argument);
}
