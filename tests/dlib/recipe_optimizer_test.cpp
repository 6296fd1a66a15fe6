// The recipe's optimizer as the dlib backend applies it, checked against PyTorch's formulas
// computed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "backends/dlib/recipe_optimizer.h"
#include "core/error.h"

namespace cb::backends::dlib_backend {
namespace {

OptimizerConfig sgd(double momentum, bool nesterov, double weight_decay) {
  OptimizerConfig c;
  c.kind = OptimizerConfig::Kind::sgd;
  c.momentum = momentum;
  c.nesterov = nesterov;
  c.weight_decay = weight_decay;
  return c;
}

TEST(RecipeOptimizer, FirstNesterovStepUsesGradientPlusDecayAsMomentumBuffer) {
  RecipeOptimizer opt(sgd(0.9, true, 0.1));
  opt.set_learning_rate(0.5);
  opt.begin_step();
  std::vector<float> w = {2.0f};
  const std::vector<float> grad = {1.0f};
  ParameterState state;
  opt.update(w.data(), grad.data(), 1, state);
  // g = 1 + 0.1·2 = 1.2; v = g = 1.2; step = g + 0.9·v = 2.28; w = 2 − 0.5·2.28.
  EXPECT_FLOAT_EQ(state.momentum[0], 1.2f);
  EXPECT_FLOAT_EQ(w[0], 2.0f - 0.5f * 2.28f);
}

TEST(RecipeOptimizer, SecondStepAccumulatesMomentumWithoutDampening) {
  RecipeOptimizer opt(sgd(0.9, false, 0.0));
  opt.set_learning_rate(1.0);
  std::vector<float> w = {0.0f};
  const std::vector<float> grad = {1.0f};
  ParameterState state;
  opt.begin_step();
  opt.update(w.data(), grad.data(), 1, state);
  opt.begin_step();
  opt.update(w.data(), grad.data(), 1, state);
  // v1 = 1, v2 = 0.9 + 1 = 1.9; w = −1 − 1.9.
  EXPECT_FLOAT_EQ(state.momentum[0], 1.9f);
  EXPECT_FLOAT_EQ(w[0], -2.9f);
}

TEST(RecipeOptimizer, AdamWDecaysDecoupledThenTakesABiasCorrectedStep) {
  OptimizerConfig c;
  c.kind = OptimizerConfig::Kind::adamw;
  c.weight_decay = 0.1;
  RecipeOptimizer opt(c);
  opt.set_learning_rate(0.01);
  opt.begin_step();
  std::vector<float> w = {1.0f};
  const std::vector<float> grad = {0.5f};
  ParameterState state;
  opt.update(w.data(), grad.data(), 1, state);
  // After bias correction m̂ = g and v̂ = g², so the step is lr · g / (|g| + eps).
  const double expected = 1.0 * (1 - 0.01 * 0.1) - 0.01 * 0.5 / (0.5 + 1e-8);
  EXPECT_NEAR(w[0], expected, 1e-7);
}

TEST(RecipeOptimizer, RefusesNesterovWithoutMomentum) {
  EXPECT_THROW(RecipeOptimizer(sgd(0.0, true, 0.0)), InputError);
}

TEST(RecipeOptimizer, RefusesLabelSmoothingOfOne) {
  OptimizerConfig c;
  c.label_smoothing = 1.0;
  EXPECT_THROW(RecipeOptimizer{c}, InputError);
}

}  // namespace
}  // namespace cb::backends::dlib_backend
