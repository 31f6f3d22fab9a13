// The optimizers' tensor-op updates (what runs on CUDA parameters) against their element rules (the CPU loops),
// on the CPU, over several steps of every setting.
#include <gtest/gtest.h>

#include <lamina/lamina.h>
#include <lamina/nn/update_rules.h>

using namespace lamina;
using namespace lamina::nn;

namespace {

void expect_near_all(const Tensor& a, const Tensor& b, const char* what) {
  const std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  ASSERT_EQ(va.size(), vb.size());
  for (std::size_t i = 0; i < va.size(); ++i) EXPECT_NEAR(va[i], vb[i], 1e-12) << what << " element " << i;
}

}  // namespace

TEST(UpdateRules, SgdWithOpsMatchesTheElementRule) {
  struct Setting { double momentum, dampening, weight_decay; bool nesterov; };
  for (const Setting s : {Setting{0, 0, 0, false}, Setting{0, 0, 0.1, false}, Setting{0.9, 0, 0.01, true},
                          Setting{0.8, 0.3, 0.05, false}}) {
    Tensor p_rule = randn({37}, {.dtype = DType::Float64}), p_ops = p_rule.clone();
    Tensor buf_rule = zeros({37}, {.dtype = DType::Float64}), buf_ops = buf_rule.clone();
    for (int step = 0; step < 3; ++step) {
      const Tensor g = randn({37}, {.dtype = DType::Float64});
      const rules::Sgd rule{0.1, s.momentum, s.dampening, s.weight_decay, s.nesterov, step == 0};
      double* pp = p_rule.data<double>();
      double* pb = buf_rule.data<double>();
      for (std::int64_t i = 0; i < 37; ++i) rule(pp[i], g.data<double>()[i], pb[i]);
      rules::apply_with_ops(rule, p_ops, g, buf_ops);
    }
    expect_near_all(p_ops, p_rule, "parameter");
    if (s.momentum != 0) expect_near_all(buf_ops, buf_rule, "momentum buffer");
  }
}

TEST(UpdateRules, AdamWithOpsMatchesTheElementRule) {
  for (const bool decoupled : {false, true}) {
    Tensor p_rule = randn({29}, {.dtype = DType::Float64}), p_ops = p_rule.clone();
    Tensor m_rule = zeros({29}, {.dtype = DType::Float64}), m_ops = m_rule.clone();
    Tensor v_rule = zeros({29}, {.dtype = DType::Float64}), v_ops = v_rule.clone();
    for (int step = 1; step <= 3; ++step) {
      const Tensor g = randn({29}, {.dtype = DType::Float64});
      const rules::Adam rule{0.01, 0.9, 0.999, 1e-8, 0.02, 1 - std::pow(0.9, step), 1 - std::pow(0.999, step), decoupled};
      for (std::int64_t i = 0; i < 29; ++i)
        rule(p_rule.data<double>()[i], g.data<double>()[i], m_rule.data<double>()[i], v_rule.data<double>()[i]);
      rules::apply_with_ops(rule, p_ops, g, m_ops, v_ops);
    }
    expect_near_all(p_ops, p_rule, "parameter");
    expect_near_all(m_ops, m_rule, "first moment");
    expect_near_all(v_ops, v_rule, "second moment");
  }
}
