// `cifarbench parity` (src/conformance/parity.h): a framework against an exact copy of itself
// never leaves float32 noise; against a copy with the wrong momentum it parts at the first
// step; torch and dlib report their effective settings from what they built.
#include <gtest/gtest.h>

#include "backends/backend.h"
#include "conformance/delegating_backend.h"
#include "conformance/parity.h"
#include "model/weights.h"

namespace cb::conformance {
namespace {

model::Weights two_layers(float a0, float b0) {
  model::Weights w;
  w.tensors.push_back({"conv1.weight", true, {{2}, {a0, 0}}});
  w.tensors.push_back({"bn1.running_mean", false, {{2}, {b0, 0}}});
  return w;
}

TEST(Parity, LayerDistancesAreRelativeL2PerLayerBuffersIncluded) {
  // conv1: |(3,0) − (4,0)| / |(4,0)| = 0.25; bn1: |(1,0) − (2,0)| / |(2,0)| = 0.5.
  const auto d = layer_distances(two_layers(3, 1), two_layers(4, 2));
  ASSERT_EQ(d.size(), 2u);
  EXPECT_DOUBLE_EQ(d.at("conv1"), 0.25);
  EXPECT_DOUBLE_EQ(d.at("bn1"), 0.5);
}

class ParityRuns : public ::testing::Test {
 protected:
  void SetUp() override {
    backends::register_builtin_backends();
    torch_ = backends::find_backend("torch");
    if (!torch_ || !torch_->info().available) GTEST_SKIP() << "the torch backend is not built";
    options_.steps = 4;
    options_.batch = 8;
  }
  const backends::Backend* torch_ = nullptr;
  ParityOptions options_;
};

TEST_F(ParityRuns, AnExactCopyNeverLeavesTheNoise) {
  const DelegatingBackend copy(*torch_, "torchcopy");
  const auto report = run_parity({torch_, &copy}, options_);
  ASSERT_EQ(report.pairs.size(), 1u);
  const auto& t = report.pairs[0];
  EXPECT_TRUE(t.error.empty()) << t.error;
  ASSERT_EQ(t.steps.size(), 4u);
  EXPECT_EQ(t.initial_distance, 0);
  EXPECT_FALSE(t.first_step.has_value()) << "parted at step " << *t.first_step;
  for (const auto& s : t.steps) EXPECT_EQ(s.loss_a, s.loss_b) << "step " << s.step;
  EXPECT_NE(format_parity(report).find("agree within float32 noise for all 4 steps"), std::string::npos);
}

TEST_F(ParityRuns, TheWrongMomentumPartsAtTheFirstStepAndNamesALayer) {
  const WrongMomentumBackend broken(*torch_);
  const auto report = run_parity({torch_, &broken}, options_);
  ASSERT_EQ(report.pairs.size(), 1u);
  const auto& t = report.pairs[0];
  ASSERT_TRUE(t.first_step.has_value());
  EXPECT_EQ(*t.first_step, 1);  // Nesterov's first step is (1 + momentum) · g
  EXPECT_FALSE(t.first_layer.empty());
  EXPECT_GT(t.steps[0].parameter_distance, options_.parameter_noise);
  EXPECT_EQ(t.steps[0].loss_a, t.steps[0].loss_b);  // the loss is taken before the update
  const auto json = to_json(report);
  EXPECT_EQ(json["pairs"][0]["first_step"], 1);
}

TEST_F(ParityRuns, TorchAndDlibReportTheirEffectiveSettings) {
  const auto* dlib = backends::find_backend("dlib");
  if (!dlib || !dlib->info().available) GTEST_SKIP() << "the dlib backend is not built";
  const auto report = run_parity({torch_, dlib}, options_);
  ASSERT_EQ(report.pairs.size(), 1u);
  EXPECT_TRUE(report.pairs[0].error.empty()) << report.pairs[0].error;
  EXPECT_EQ(report.pairs[0].initial_distance, 0);
  // simple-cnn's batch-norm layers use eps 1e-5; dlib's value is read back from its bn_ layers.
  for (const std::string fw : {"torch", "dlib"}) {
    const auto& settings = report.settings.at(fw);
    bool eps = false;
    for (const auto& s : settings) {
      if (s.name != "batch_norm.eps") continue;
      eps = true;
      EXPECT_EQ(s.value, "1e-05") << fw;
    }
    EXPECT_TRUE(eps) << fw << " reports no batch_norm.eps";
    EXPECT_EQ(settings.size(), 6u) << fw;
  }
}

}  // namespace
}  // namespace cb::conformance
