// The optimizer and the loss follow backend.h's definitions, checked on a linear model by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "tiny_models.h"

namespace cb::testing {
namespace {

constexpr int kFeatures = 3, kClasses = 2;

struct LinearModel {
  std::vector<double> w;  // kClasses × kFeatures
  std::vector<double> b;  // kClasses
};

LinearModel from_weights(const model::Weights& weights) {
  const auto& w = weights.find("fc.weight")->tensor.values;
  const auto& b = weights.find("fc.bias")->tensor.values;
  return {{w.begin(), w.end()}, {b.begin(), b.end()}};
}

// Mean cross-entropy with label smoothing s and its gradients, in float64.
double loss_and_gradient(const LinearModel& m, const data::Batch& batch, double s,
                         LinearModel* grad) {
  grad->w.assign(m.w.size(), 0.0);
  grad->b.assign(m.b.size(), 0.0);
  double loss = 0;
  for (int n = 0; n < batch.n; ++n) {
    const float* x = batch.data.data() + n * kFeatures;
    double z[kClasses], zmax = -1e300, sum = 0;
    for (int k = 0; k < kClasses; ++k) {
      z[k] = m.b[k];
      for (int f = 0; f < kFeatures; ++f) z[k] += m.w[k * kFeatures + f] * x[f];
      zmax = std::max(zmax, z[k]);
    }
    for (int k = 0; k < kClasses; ++k) sum += std::exp(z[k] - zmax);
    for (int k = 0; k < kClasses; ++k) {
      const double logp = z[k] - zmax - std::log(sum);
      const double target = (k == batch.labels[n] ? 1 - s : 0) + s / kClasses;
      loss -= target * logp / batch.n;
      const double dz = (std::exp(logp) - target) / batch.n;
      grad->b[k] += dz;
      for (int f = 0; f < kFeatures; ++f) grad->w[k * kFeatures + f] += dz * x[f];
    }
  }
  return loss;
}

void expect_weights(const model::Weights& got, const LinearModel& want) {
  const auto& w = got.find("fc.weight")->tensor.values;
  const auto& b = got.find("fc.bias")->tensor.values;
  for (std::size_t i = 0; i < want.w.size(); ++i) EXPECT_NEAR(w[i], want.w[i], 1e-5) << "w" << i;
  for (std::size_t i = 0; i < want.b.size(); ++i) EXPECT_NEAR(b[i], want.b[i], 1e-5) << "b" << i;
}

struct Fixture {
  model::ModelSpec spec = linear_model(kFeatures, kClasses);
  model::Weights weights = random_weights(spec, 11);
  data::Batch batch = random_batch(spec, 4, 12);
};

TEST(TorchOptimizer, TwoSgdNesterovStepsMatchTheDefinition) {
  Fixture f;
  auto config = cpu_config(f.spec, f.weights);
  config.optimizer.kind = backends::OptimizerConfig::Kind::sgd;
  config.optimizer.momentum = 0.9;
  config.optimizer.nesterov = true;
  config.optimizer.weight_decay = 0.01;
  const double lr = 0.5;
  const auto trainer = torch_backend().create_trainer(config);
  trainer->set_learning_rate(lr);

  LinearModel m = from_weights(f.weights), v{std::vector<double>(6, 0.0), std::vector<double>(2, 0.0)};
  for (int step = 0; step < 2; ++step) {
    LinearModel g;
    const double want_loss = loss_and_gradient(m, f.batch, 0.0, &g);
    EXPECT_NEAR(backends::train_step_and_read(*trainer, f.batch).loss, want_loss, 1e-5) << "step " << step;
    auto update = [&](std::vector<double>& w, std::vector<double>& gw, std::vector<double>& vw) {
      for (std::size_t i = 0; i < w.size(); ++i) {
        const double gi = gw[i] + 0.01 * w[i];
        vw[i] = 0.9 * vw[i] + gi;
        w[i] -= lr * (gi + 0.9 * vw[i]);
      }
    };
    update(m.w, g.w, v.w);
    update(m.b, g.b, v.b);
  }
  expect_weights(trainer->export_weights(), m);
}

TEST(TorchOptimizer, PlainMomentumStepUsesTheVelocity) {
  Fixture f;
  auto config = cpu_config(f.spec, f.weights);
  config.optimizer.momentum = 0.5;
  config.optimizer.nesterov = false;
  config.optimizer.weight_decay = 0.0;
  const auto trainer = torch_backend().create_trainer(config);
  trainer->set_learning_rate(0.1);
  LinearModel m = from_weights(f.weights), g1, g2;
  loss_and_gradient(m, f.batch, 0.0, &g1);
  trainer->train_step(f.batch);
  for (std::size_t i = 0; i < m.w.size(); ++i) m.w[i] -= 0.1 * g1.w[i];
  for (std::size_t i = 0; i < m.b.size(); ++i) m.b[i] -= 0.1 * g1.b[i];
  loss_and_gradient(m, f.batch, 0.0, &g2);
  trainer->train_step(f.batch);
  for (std::size_t i = 0; i < m.w.size(); ++i) m.w[i] -= 0.1 * (0.5 * g1.w[i] + g2.w[i]);
  for (std::size_t i = 0; i < m.b.size(); ++i) m.b[i] -= 0.1 * (0.5 * g1.b[i] + g2.b[i]);
  expect_weights(trainer->export_weights(), m);
}

TEST(TorchOptimizer, FirstAdamWStepIsDecoupledDecayPlusSignLikeStep) {
  Fixture f;
  auto config = cpu_config(f.spec, f.weights);
  config.optimizer.kind = backends::OptimizerConfig::Kind::adamw;
  config.optimizer.weight_decay = 0.1;
  const double lr = 0.01, eps = config.optimizer.eps;
  const auto trainer = torch_backend().create_trainer(config);
  trainer->set_learning_rate(lr);
  LinearModel m = from_weights(f.weights), g;
  loss_and_gradient(m, f.batch, 0.0, &g);
  trainer->train_step(f.batch);
  // Bias-corrected first moments are g and g², so the step is lr · g / (|g| + eps).
  for (std::size_t i = 0; i < m.w.size(); ++i) {
    m.w[i] = m.w[i] * (1 - lr * 0.1) - lr * g.w[i] / (std::abs(g.w[i]) + eps);
  }
  for (std::size_t i = 0; i < m.b.size(); ++i) {
    m.b[i] = m.b[i] * (1 - lr * 0.1) - lr * g.b[i] / (std::abs(g.b[i]) + eps);
  }
  expect_weights(trainer->export_weights(), m);
}

TEST(TorchOptimizer, LabelSmoothingMixesOneHotWithUniformTargets) {
  Fixture f;
  auto config = cpu_config(f.spec, f.weights);
  config.optimizer.label_smoothing = 0.2;
  const auto trainer = torch_backend().create_trainer(config);
  trainer->set_learning_rate(0.0);
  LinearModel g;
  const double want = loss_and_gradient(from_weights(f.weights), f.batch, 0.2, &g);
  EXPECT_NEAR(backends::train_step_and_read(*trainer, f.batch).loss, want, 1e-6);
  // Evaluation reports the plain (unsmoothed) loss.
  const double plain = loss_and_gradient(from_weights(f.weights), f.batch, 0.0, &g);
  EXPECT_NEAR(trainer->evaluate(f.batch).loss_sum, plain * f.batch.n, 1e-5);
}

TEST(TorchOptimizer, ZeroLearningRateLeavesWeightsUnchanged) {
  Fixture f;
  const auto trainer = torch_backend().create_trainer(cpu_config(f.spec, f.weights));
  trainer->set_learning_rate(0.0);
  trainer->train_step(f.batch);
  EXPECT_EQ(trainer->export_weights().find("fc.weight")->tensor.values,
            f.weights.find("fc.weight")->tensor.values);
}

TEST(TorchOptimizer, OptimizerStateRoundTripContinuesTheSameTrajectory) {
  const auto spec = conv_bn_relu_pool_linear({3, 6, 6}, 4, 5);
  const auto weights = random_weights(spec, 13);
  const auto batch = random_batch(spec, 8, 14);
  const auto first = torch_backend().create_trainer(cpu_config(spec, weights));
  first->set_learning_rate(0.05);
  for (int i = 0; i < 3; ++i) first->train_step(batch);
  const auto checkpoint_weights = first->export_weights();
  const auto checkpoint_state = first->export_optimizer_state();
  EXPECT_NE(checkpoint_state.find("conv.weight.momentum_buffer"), nullptr);

  const auto resumed = torch_backend().create_trainer(cpu_config(spec, checkpoint_weights));
  resumed->import_optimizer_state(checkpoint_state);
  resumed->set_learning_rate(0.05);
  EXPECT_EQ(backends::train_step_and_read(*resumed, batch).loss, backends::train_step_and_read(*first, batch).loss);
  EXPECT_EQ(resumed->export_weights().find("fc.weight")->tensor.values,
            first->export_weights().find("fc.weight")->tensor.values);
}

}  // namespace
}  // namespace cb::testing
