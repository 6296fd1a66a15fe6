// The fp16 trainer's overflow skip decided on the device (SpecOptimizer::step_unless), checked
// on the CPU through OptimizerOnVectors: an applied step equals the plain optimizer's, a skipped
// one changes nothing, whatever the gradients hold.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <ostream>
#include <random>
#include <string>

#include "backends/torch/optimizer_on_vectors.h"

namespace cb::backends {
// Names the parameter in failure messages instead of its bytes.
void PrintTo(const OptimizerConfig& c, std::ostream* os) {
  *os << (c.kind == OptimizerConfig::Kind::sgd ? "SGD" : "AdamW");
}
}  // namespace cb::backends

namespace cb::testing {
namespace {

using backends::OptimizerConfig;
using backends::torch_backend::OptimizerOnVectors;
using Tensors = OptimizerOnVectors::Tensors;

Tensors random_tensors(std::mt19937& rng, double sd) {
  std::normal_distribution<float> normal(0.0f, static_cast<float>(sd));
  Tensors t;
  for (int size : {7, 16, 5}) {
    std::vector<float> v(size);
    for (auto& x : v) x = normal(rng);
    t.push_back(v);
  }
  return t;
}

void expect_near(const Tensors& got, const Tensors& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].size(), want[i].size()) << what;
    for (std::size_t j = 0; j < got[i].size(); ++j) {
      EXPECT_NEAR(got[i][j], want[i][j], 1e-6 * std::max(1.0f, std::fabs(want[i][j])))
          << what << " tensor " << i << " element " << j;
    }
  }
}

OptimizerConfig sgd() {
  OptimizerConfig c;  // SGD, momentum 0.9, Nesterov, weight decay 5e-4
  return c;
}

OptimizerConfig adamw() {
  OptimizerConfig c;
  c.kind = OptimizerConfig::Kind::adamw;
  c.weight_decay = 0.05;
  return c;
}

class SkipOnDevice : public ::testing::TestWithParam<OptimizerConfig> {};

TEST_P(SkipOnDevice, AppliedStepsEqualThePlainOptimizers) {
  std::mt19937 rng(3);
  const Tensors start = random_tensors(rng, 1.0);
  OptimizerOnVectors plain(GetParam(), start), masked(GetParam(), start);
  for (int step = 0; step < 4; ++step) {
    const Tensors grads = random_tensors(rng, 0.5);
    plain.step(grads, 0.1);
    masked.step_unless(grads, 0.1, /*found_inf=*/false);
    expect_near(masked.params(), plain.params(), "params after step " + std::to_string(step));
    expect_near(masked.state(), plain.state(), "state after step " + std::to_string(step));
  }
  EXPECT_NE(masked.params(), start);  // the steps did move the parameters
  EXPECT_EQ(masked.steps(), 4);
  EXPECT_EQ(plain.steps(), 4);
}

TEST_P(SkipOnDevice, SkippedStepChangesNothingWhateverTheGradientsHold) {
  std::mt19937 rng(5);
  const Tensors start = random_tensors(rng, 1.0);
  OptimizerOnVectors plain(GetParam(), start), masked(GetParam(), start);
  for (int step = 0; step < 2; ++step) {
    const Tensors grads = random_tensors(rng, 0.5);
    plain.step(grads, 0.1);
    masked.step_unless(grads, 0.1, false);
  }
  const Tensors params = masked.params(), state = masked.state();
  Tensors overflowed = random_tensors(rng, 0.5);
  overflowed[0][2] = std::numeric_limits<float>::infinity();
  overflowed[1][0] = -std::numeric_limits<float>::infinity();
  overflowed[1][9] = std::numeric_limits<float>::quiet_NaN();  // tensor 2 stays finite
  masked.step_unless(overflowed, 0.1, /*found_inf=*/true);
  EXPECT_EQ(masked.params(), params);  // exactly; a NaN would compare unequal
  EXPECT_EQ(masked.state(), state);
  EXPECT_EQ(masked.steps(), 2);
  // The next applied step is the plain optimizer's third (AdamW's bias correction counts 3).
  const Tensors grads = random_tensors(rng, 0.5);
  plain.step(grads, 0.1);
  masked.step_unless(grads, 0.1, false);
  expect_near(masked.params(), plain.params(), "params after the step that follows the skip");
  expect_near(masked.state(), plain.state(), "state after the step that follows the skip");
  EXPECT_EQ(masked.steps(), 3);
}

TEST_P(SkipOnDevice, SkippedFirstStepLeavesTheStartAndZeroState) {
  std::mt19937 rng(7);
  const Tensors start = random_tensors(rng, 1.0);
  OptimizerOnVectors plain(GetParam(), start), masked(GetParam(), start);
  const Tensors zero_state = masked.state();
  Tensors overflowed = random_tensors(rng, 0.5);
  overflowed[2][0] = std::numeric_limits<float>::infinity();
  masked.step_unless(overflowed, 0.1, true);
  EXPECT_EQ(masked.params(), start);
  EXPECT_EQ(masked.state(), zero_state);
  EXPECT_EQ(masked.steps(), 0);
  const Tensors grads = random_tensors(rng, 0.5);
  plain.step(grads, 0.1);
  masked.step_unless(grads, 0.1, false);
  expect_near(masked.params(), plain.params(), "params after the first applied step");
}

INSTANTIATE_TEST_SUITE_P(Optimizers, SkipOnDevice, ::testing::Values(sgd(), adamw()),
                         [](const ::testing::TestParamInfo<OptimizerConfig>& info) {
                           return info.param.kind == OptimizerConfig::Kind::sgd ? "Sgd" : "AdamW";
                         });

TEST(SkipOnDeviceSgd, WithoutMomentumOrDecayASkipStillChangesNothing) {
  OptimizerConfig c;
  c.momentum = 0;
  c.nesterov = false;
  c.weight_decay = 0;
  std::mt19937 rng(9);
  const Tensors start = random_tensors(rng, 1.0);
  OptimizerOnVectors masked(c, start);
  Tensors overflowed = random_tensors(rng, 0.5);
  overflowed[0][0] = std::numeric_limits<float>::quiet_NaN();
  masked.step_unless(overflowed, 0.1, true);
  EXPECT_EQ(masked.params(), start);
  const Tensors grads = random_tensors(rng, 0.5);
  masked.step_unless(grads, 0.1, false);
  const Tensors params = masked.params();
  for (std::size_t i = 0; i < start.size(); ++i) {
    for (std::size_t j = 0; j < start[i].size(); ++j) {
      EXPECT_NEAR(params[i][j], start[i][j] - 0.1f * grads[i][j], 1e-6);
    }
  }
}

}  // namespace
}  // namespace cb::testing
