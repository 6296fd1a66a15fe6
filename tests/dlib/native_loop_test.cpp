// dlib's own training loop (backends/dlib/native_loop.h), the yardstick of
// bench_dlib_wrapper_overhead: it must train the very network the backend trains, from the same
// weights, or the benchmark compares different work.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/dlib/native_loop.h"
#include "core/error.h"
#include "core/rng.h"
#include "model/analysis.h"
#include "model/initial_weights.h"
#include "model/zoo.h"
#include "support/random_batch.h"

namespace cb::backends::dlib_backend {
namespace {

using testing::random_batch;

struct LoopSetup {
  model::ModelSpec spec;
  model::Weights weights;
  TrainerConfig config;
};

LoopSetup make_setup(const std::string& name, OptimizerConfig optimizer = {}) {
  LoopSetup s;
  s.spec = model::build_zoo_model(name, 10);
  s.weights = model::initial_weights(s.spec, 7);
  s.config.model = std::make_shared<const model::AnalysedModel>(model::analyse(s.spec));
  s.config.initial_weights = &s.weights;
  s.config.optimizer = optimizer;
  s.config.execution.threads = 1;
  return s;
}

const Backend& dlib_backend() {
  register_builtin_backends();
  const Backend* b = find_backend("dlib");
  if (b == nullptr) throw std::runtime_error("dlib backend not registered");
  return *b;
}

// Same weights and batch: the backend's loss and dlib's loss_multiclass_log agree (float32
// forward passes of the same network; the backend sums the softmax in double).
void expect_same_first_loss(const std::string& name) {
  LoopSetup s = make_setup(name);
  const data::Batch batch = random_batch(4, 3);
  const auto trainer = dlib_backend().create_trainer(s.config);
  const auto loop = make_native_loop(s.config);
  loop->set_batches({batch});
  const double ours = backends::train_step_and_read(*trainer, batch).loss;
  const double dlibs = loop->train_step(0);
  EXPECT_GT(ours, 0.5) << name;  // an untrained 10-class network: about log(10)
  EXPECT_NEAR(dlibs, ours, 1e-5 * ours) << name;
}

TEST(DlibNativeLoop, FirstLossMatchesTheTrainersOnSimpleCnn) {
  expect_same_first_loss("simple-cnn");
}

TEST(DlibNativeLoop, FirstLossMatchesTheTrainersOnResnet20) { expect_same_first_loss("resnet20"); }

TEST(DlibNativeLoop, ItsSgdStepsLowerTheLossOfTheBatch) {
  LoopSetup s = make_setup("simple-cnn");
  const auto loop = make_native_loop(s.config);
  loop->set_batches({random_batch(8, 5)});
  loop->set_learning_rate(0.05);
  const double first = loop->train_step(0);
  double last = first;
  for (int i = 0; i < 10; ++i) last = loop->train_step(0);
  EXPECT_TRUE(std::isfinite(last));
  EXPECT_LT(last, 0.8 * first);
}

TEST(DlibNativeLoop, WithoutUpdatesTheLossStaysPut) {
  LoopSetup s = make_setup("simple-cnn");
  const auto loop = make_native_loop(s.config);
  loop->set_batches({random_batch(4, 9)});
  loop->set_learning_rate(0.0);
  const double first = loop->train_step(0);
  // bn_ normalizes with the batch's own statistics, so only the weights could change the loss.
  EXPECT_DOUBLE_EQ(loop->train_step(0), first);
}

TEST(DlibNativeLoop, RefusesWhatItCannotRun) {
  LoopSetup vgg = make_setup("vgg11-bn");
  EXPECT_THROW(make_native_loop(vgg.config), Unsupported);
  OptimizerConfig adamw;
  adamw.kind = OptimizerConfig::Kind::adamw;
  LoopSetup s = make_setup("simple-cnn", adamw);
  EXPECT_THROW(make_native_loop(s.config), Unsupported);
  LoopSetup plain = make_setup("simple-cnn");
  const auto loop = make_native_loop(plain.config);
  loop->set_batches({random_batch(2, 1)});
  EXPECT_THROW(loop->train_step(1), CheckFailed);
  data::Batch wrong = random_batch(2, 1);
  wrong.labels[0] = 10;
  EXPECT_THROW(loop->set_batches({wrong}), InputError);
}

}  // namespace
}  // namespace cb::backends::dlib_backend
