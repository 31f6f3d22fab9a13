#include <gtest/gtest.h>

#include "expect.h"

#include <lamina/lamina.h>
#include <lamina/nn/adam.h>
#include <lamina/nn/lr_scheduler.h>
#include <lamina/nn/sgd.h>

using namespace lamina;
using lamina::testing::expect_near;

namespace {
// Three steps on loss = sum(p * c) + 0.5 * sum(p^2), p0 = [0.5, -1, 2], c = [1, 2, -3] — the same run as the
// PyTorch 1.13 script whose results are pasted below.
template <typename Opt, typename Options>
std::vector<double> run(Options options, int steps = 3) {
  Tensor p = from_vector<double>({0.5, -1.0, 2.0}, {3}, true);
  const Tensor c = from_vector<double>({1.0, 2.0, -3.0}, {3});
  Opt opt({{"p", p}}, options);
  for (int k = 0; k < steps; ++k) {
    opt.zero_grad();
    (sum(p * c) + sum(p * p) * 0.5).backward();
    opt.step();
  }
  return p.to_vector<double>();
}
}  // namespace

// Reference values: torch.optim in PyTorch 1.13 (python3-torch), float64.
TEST(Optimizer, SgdNesterovWeightDecayMatchesPyTorch) {
  expect_near(run<nn::SGD>(nn::SgdOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true}),
              {-0.5104962291795001, -1.664711805241, 2.657997544582});
}

TEST(Optimizer, SgdDampenedMomentumMatchesPyTorch) {
  expect_near(run<nn::SGD>(nn::SgdOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.1}),
              {-0.23576500000000014, -1.49051, 2.49051});
}

TEST(Optimizer, AdamWithL2MatchesPyTorch) {
  expect_near(run<nn::Adam>(nn::AdamOptions{.lr = 0.1, .weight_decay = 0.1}),
              {0.20098144595289896, -1.2978558944310263, 2.2974200478418028});
}

TEST(Optimizer, AdamWMatchesPyTorch) {
  expect_near(run<nn::AdamW>(nn::AdamOptions{.lr = 0.1, .weight_decay = 0.1}),
              {0.18909580305707896, -1.2659571412920405, 2.2364618843531496});
}

TEST(Optimizer, StateDictResumesExactly) {
  // 3 steps straight == 2 steps, save, fresh optimizer + load, 1 step.
  const std::vector<double> straight = run<nn::Adam>(nn::AdamOptions{.lr = 0.1});
  Tensor p = from_vector<double>({0.5, -1.0, 2.0}, {3}, true);
  const Tensor c = from_vector<double>({1.0, 2.0, -3.0}, {3});
  auto step = [&](nn::Optimizer& opt) {
    opt.zero_grad();
    (sum(p * c) + sum(p * p) * 0.5).backward();
    opt.step();
  };
  nn::StateDict saved;
  {
    nn::Adam first({{"p", p}}, {.lr = 0.1});
    step(first);
    step(first);
    saved = first.state_dict();
  }
  nn::Adam second({{"p", p}}, {.lr = 0.5});  // the loaded lr wins
  second.load_state_dict(saved);
  EXPECT_EQ(second.lr(), 0.1);
  EXPECT_EQ(second.steps(), 2);
  step(second);
  expect_near(p.to_vector<double>(), straight);
}

TEST(Optimizer, LoadingStateOfAnotherModelNamesTheParameter) {
  Tensor p = zeros({3}, {.dtype = DType::Float64, .requires_grad = true});
  nn::SGD a({{"layer.weight", p}}, {.lr = 0.1, .momentum = 0.9});
  p.set_grad(ones({3}, {.dtype = DType::Float64}));
  a.step();
  Tensor q = zeros({3}, {.dtype = DType::Float64, .requires_grad = true});
  nn::SGD b({{"other.weight", q}}, {.lr = 0.1, .momentum = 0.9});
  try {
    b.load_state_dict(a.state_dict());
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("layer.weight"), std::string::npos) << e.what();
  }
}

TEST(Optimizer, SkipsParametersWithoutGradient) {
  Tensor p = ones({2}, {.requires_grad = true});
  nn::SGD opt({{"p", p}}, {.lr = 1.0});
  opt.step();
  EXPECT_EQ(p.to_vector<float>(), (std::vector<float>{1, 1}));
}

TEST(LRScheduler, StepCosineAndWarmup) {
  Tensor p = ones({1}, {.requires_grad = true});
  nn::SGD opt({{"p", p}}, {.lr = 1.0});
  nn::StepLR step_lr(opt, 2, 0.5);
  std::vector<double> lrs;
  for (int i = 0; i < 5; ++i) { step_lr.step(); lrs.push_back(opt.lr()); }
  EXPECT_EQ(lrs, (std::vector<double>{1.0, 0.5, 0.5, 0.25, 0.25}));

  nn::SGD opt2({{"p", p}}, {.lr = 1.0});
  nn::CosineLR cosine(opt2, 4);
  EXPECT_NEAR(cosine.lr_at(2), 0.5, 1e-15);
  EXPECT_NEAR(cosine.lr_at(4), 0.0, 1e-15);

  nn::SGD opt3({{"p", p}}, {.lr = 1.0});
  nn::LinearWarmup warm(opt3, 4, std::make_unique<nn::CosineLR>(opt3, 10));
  EXPECT_EQ(opt3.lr(), 0.25);
  warm.set_count(3);
  EXPECT_EQ(opt3.lr(), 1.0);
  warm.set_count(9);  // 5 into the cosine of 10
  EXPECT_NEAR(opt3.lr(), 0.5, 1e-15);
}
