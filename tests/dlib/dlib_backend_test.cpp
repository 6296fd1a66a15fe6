// The dlib backend through the backend contract: which zoo models it builds, exact loading of
// the harness's weights, the spec check, batch-norm conventions and inference mode.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/dlib/dlib_backend.h"
#include "core/error.h"
#include "core/rng.h"
#include "model/analysis.h"
#include "model/initial_weights.h"
#include "model/zoo.h"
#include "support/random_batch.h"

namespace cb::backends {
namespace {

const Backend& dlib_backend() {
  register_builtin_backends();
  const Backend* b = find_backend("dlib");
  if (b == nullptr) throw std::runtime_error("dlib backend not registered");
  return *b;
}

using testing::random_batch;

struct Fixture {
  model::ModelSpec spec;
  model::Weights weights;
  std::unique_ptr<Trainer> trainer;
};

Fixture make_trainer(const std::string& name, OptimizerConfig optimizer = {}) {
  Fixture f;
  f.spec = model::build_zoo_model(name, 10);
  f.weights = model::initial_weights(f.spec, 7);
  TrainerConfig config;
  config.model = std::make_shared<const model::AnalysedModel>(model::analyse(f.spec));
  config.initial_weights = &f.weights;
  config.optimizer = optimizer;
  config.execution.threads = 1;
  f.trainer = dlib_backend().create_trainer(config);
  return f;
}

TEST(DlibBackend, IsAvailableOnTheCpu) {
  const auto info = dlib_backend().info();
  EXPECT_TRUE(info.available);
  EXPECT_EQ(info.version, "19.24.0");
  ASSERT_FALSE(info.devices.empty());
  EXPECT_EQ(info.devices[0].id, "cpu");
}

TEST(DlibBackend, ListsTheZooModelsItHasNetworkTypesFor) {
  EXPECT_EQ(dlib_supported_models(),
            (std::vector<std::string>{"simple-cnn", "resnet20", "resnet56", "vgg11-bn"}));
}

TEST(DlibBackend, BuildsEverySupportedZooModel) {
  for (const auto& name : dlib_supported_models()) {
    EXPECT_EQ(dlib_backend().cannot_build(model::build_zoo_model(name, 10)), std::nullopt) << name;
  }
}

TEST(DlibBackend, ExplainsWhyItCannotBuildResnet18) {
  const auto why = dlib_backend().cannot_build(model::build_zoo_model("resnet18", 10));
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("no compile-time network type for resnet18"), std::string::npos) << *why;
}

TEST(DlibBackend, NamesTheLayerWhereASpecDiffersFromItsType) {
  auto spec = model::build_zoo_model("simple-cnn", 10);
  for (auto& layer : spec.layers) {
    if (layer.name == "conv3") layer.out_channels = 48;
  }
  const auto why = dlib_backend().cannot_build(spec);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("conv2d(48 filters"), std::string::npos) << *why;
  EXPECT_NE(why->find("conv2d(64 filters"), std::string::npos) << *why;
}

TEST(DlibBackend, RefusesATrainerForAModelWithoutANetworkType) {
  auto spec = model::build_zoo_model("resnet18", 10);
  auto weights = model::initial_weights(spec, 1);
  TrainerConfig config;
  config.model = std::make_shared<const model::AnalysedModel>(model::analyse(spec));
  config.initial_weights = &weights;
  EXPECT_THROW(dlib_backend().create_trainer(config), Unsupported);
}

TEST(DlibBackend, RefusesAGpuDevice) {
  auto spec = model::build_zoo_model("simple-cnn", 10);
  auto weights = model::initial_weights(spec, 1);
  TrainerConfig config;
  config.model = std::make_shared<const model::AnalysedModel>(model::analyse(spec));
  config.initial_weights = &weights;
  config.execution.device = "cuda:0";
  EXPECT_THROW(dlib_backend().create_trainer(config), InputError);
}

TEST(DlibBackend, UnsupportedAnswersForSupportedAndUnsupportedSettings) {
  ExecutionSettings cpu;  // device cpu, float32, NCHW
  cpu.deterministic = true;
  cpu.autotune = true;  // a hint dlib has no use for, not a refusal
  EXPECT_EQ(dlib_backend().unsupported(cpu), std::nullopt);

  auto bf16 = cpu;
  bf16.precision = MixedPrecision::bf16;
  EXPECT_EQ(dlib_backend().unsupported(bf16),
            "dlib has no bf16 (precision = bf16): dlib computes in float32 only");

  auto nhwc = cpu;
  nhwc.channels_last = true;
  const auto why = dlib_backend().unsupported(nhwc);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("channels_last"), std::string::npos) << *why;
}

TEST(DlibBackend, CreateTrainerThrowsWhatUnsupportedSays) {
  auto spec = model::build_zoo_model("simple-cnn", 10);
  auto weights = model::initial_weights(spec, 1);
  TrainerConfig config;
  config.model = std::make_shared<const model::AnalysedModel>(model::analyse(spec));
  config.initial_weights = &weights;
  config.execution.precision = MixedPrecision::fp16;
  const auto why = dlib_backend().unsupported(config.execution);
  ASSERT_TRUE(why.has_value());
  try {
    dlib_backend().create_trainer(config);
    FAIL() << "create_trainer accepted fp16";
  } catch (const Unsupported& e) {
    EXPECT_EQ(std::string(e.what()), *why);
  }
}

TEST(DlibBackend, CountsTheSpecsParameters) {
  for (const auto& name : dlib_supported_models()) {
    auto f = make_trainer(name);
    EXPECT_EQ(f.trainer->parameter_count(), model::parameter_count(f.spec)) << name;
  }
}

TEST(DlibBackend, ExportsExactlyTheWeightsItWasGiven) {
  auto f = make_trainer("resnet20");
  const auto out = f.trainer->export_weights();
  ASSERT_EQ(out.tensors.size(), f.weights.tensors.size());
  for (std::size_t i = 0; i < out.tensors.size(); ++i) {
    const auto& a = out.tensors[i];
    const auto& b = f.weights.tensors[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.trainable, b.trainable) << a.name;
    EXPECT_EQ(a.tensor.shape, b.tensor.shape) << a.name;
    EXPECT_EQ(a.tensor.values, b.tensor.values) << a.name;
  }
}

TEST(DlibBackend, KeepsTheLinearLayersOutputOrderThroughTheTranspose) {
  auto f = make_trainer("simple-cnn");
  auto weights = f.weights;
  auto* w = weights.find("linear.weight");
  ASSERT_NE(w, nullptr);
  for (std::size_t i = 0; i < w->tensor.values.size(); ++i)
    w->tensor.values[i] = static_cast<float>(i);
  f.trainer->import_weights(weights);
  EXPECT_EQ(f.trainer->export_weights().find("linear.weight")->tensor.values, w->tensor.values);
}

TEST(DlibBackend, InferenceLogitsOfAnImageDoNotDependOnTheRestOfTheBatch) {
  auto f = make_trainer("resnet20");
  auto a = random_batch(3, 1);
  auto b = random_batch(3, 2);
  std::copy(a.data.begin(), a.data.begin() + 3 * 32 * 32, b.data.begin());
  const auto la = f.trainer->logits(a);
  const auto lb = f.trainer->logits(b);
  ASSERT_EQ(la.size(), 30u);
  for (int c = 0; c < 10; ++c) EXPECT_FLOAT_EQ(la[c], lb[c]);
}

TEST(DlibBackend, EvaluateCountsTheArgmaxOfTheLogits) {
  auto f = make_trainer("simple-cnn");
  auto batch = random_batch(6, 3);
  const auto logits = f.trainer->logits(batch);
  std::int64_t correct = 0;
  double loss = 0;
  for (int i = 0; i < batch.n; ++i) {
    const float* row = logits.data() + i * 10;
    const auto best = std::max_element(row, row + 10) - row;
    if (best == batch.labels[i]) ++correct;
    double sum = 0;
    for (int c = 0; c < 10; ++c) sum += std::exp(static_cast<double>(row[c]));
    loss += std::log(sum) - row[batch.labels[i]];
  }
  const auto result = f.trainer->evaluate(batch);
  EXPECT_EQ(result.count, 6);
  EXPECT_EQ(result.correct, correct);
  EXPECT_NEAR(result.loss_sum, loss, 1e-4);
}

TEST(DlibBackend, TrainStepWithZeroLearningRateLeavesTrainableWeightsUnchanged) {
  auto f = make_trainer("simple-cnn");
  f.trainer->set_learning_rate(0.0);
  const auto step = backends::train_step_and_read(*f.trainer, random_batch(4, 4));
  EXPECT_GT(step.loss, 0.0);
  const auto out = f.trainer->export_weights();
  for (const auto& t : out.tensors) {
    if (t.trainable) {
      EXPECT_EQ(t.tensor.values, f.weights.find(t.name)->tensor.values) << t.name;
    }
  }
}

TEST(DlibBackend, TrainStepLowersTheLossOnARepeatedBatch) {
  auto f = make_trainer("simple-cnn");
  f.trainer->set_learning_rate(0.05);
  const auto batch = random_batch(8, 5);
  const double first = backends::train_step_and_read(*f.trainer, batch).loss;
  double last = first;
  for (int i = 0; i < 5; ++i) last = backends::train_step_and_read(*f.trainer, batch).loss;
  EXPECT_LT(last, first);
}

TEST(DlibBackend, ReadStepsReturnsEveryStepSinceTheLastReadInOrder) {
  auto a = make_trainer("simple-cnn");
  auto b = make_trainer("simple-cnn");
  a.trainer->set_learning_rate(0.05);
  b.trainer->set_learning_rate(0.05);
  std::vector<StepResult> each;
  for (std::uint64_t s = 0; s < 3; ++s) {
    each.push_back(backends::train_step_and_read(*a.trainer, random_batch(4, 10 + s)));
    b.trainer->train_step(random_batch(4, 10 + s));
  }
  const auto read = b.trainer->read_steps();
  ASSERT_EQ(read.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(read[i].loss, each[i].loss) << i;
    EXPECT_EQ(read[i].accuracy, each[i].accuracy) << i;
  }
  EXPECT_NE(read[0].loss, read[2].loss);
  EXPECT_TRUE(b.trainer->read_steps().empty());
}

// With momentum 1 PyTorch's running statistics become the batch's: the mean and the unbiased
// variance of conv1's output, computed here by hand.
TEST(DlibBackend, RunningStatisticsFollowPyTorchsMomentumAndUnbiasedVariance) {
  auto spec = model::build_zoo_model("simple-cnn", 10);
  for (auto& layer : spec.layers) {
    if (layer.name == "bn1") layer.momentum = 1.0;
  }
  auto weights = model::initial_weights(spec, 7);
  TrainerConfig config;
  config.model = std::make_shared<const model::AnalysedModel>(model::analyse(spec));
  config.initial_weights = &weights;
  config.execution.threads = 1;
  auto trainer = dlib_backend().create_trainer(config);
  const auto batch = random_batch(2, 6);
  trainer->set_learning_rate(0.0);
  trainer->train_step(batch);
  const auto out = trainer->export_weights();
  const auto& w = weights.find("conv1.weight")->tensor.values;  // [32, 3, 3, 3]
  const auto& mean = out.find("bn1.running_mean")->tensor.values;
  const auto& var = out.find("bn1.running_var")->tensor.values;
  for (int o = 0; o < 32; o += 7) {
    std::vector<double> y;
    for (int n = 0; n < 2; ++n) {
      for (int r = 0; r < 32; ++r) {
        for (int c = 0; c < 32; ++c) {
          double s = 0;
          for (int i = 0; i < 3; ++i) {
            for (int kr = 0; kr < 3; ++kr) {
              for (int kc = 0; kc < 3; ++kc) {
                const int rr = r + kr - 1, cc = c + kc - 1;
                if (rr < 0 || rr >= 32 || cc < 0 || cc >= 32) continue;
                s += w[((o * 3 + i) * 3 + kr) * 3 + kc] *
                     batch.data[((n * 3 + i) * 32 + rr) * 32 + cc];
              }
            }
          }
          y.push_back(s);
        }
      }
    }
    double m = 0;
    for (double v : y) m += v;
    m /= static_cast<double>(y.size());
    double ss = 0;
    for (double v : y) ss += (v - m) * (v - m);
    const double unbiased = ss / static_cast<double>(y.size() - 1);
    EXPECT_NEAR(mean[o], m, 1e-4 * (1 + std::abs(m))) << "channel " << o;
    EXPECT_NEAR(var[o], unbiased, 1e-4 * unbiased) << "channel " << o;
  }
}

TEST(DlibBackend, RefusesToTrainOnASingleImage) {
  auto f = make_trainer("simple-cnn");
  EXPECT_THROW(f.trainer->train_step(random_batch(1, 8)), Unsupported);
}

TEST(DlibBackend, RefusesAnNhwcBatch) {
  auto f = make_trainer("simple-cnn");
  auto batch = random_batch(2, 9);
  batch.layout = data::Layout::nhwc;
  EXPECT_THROW(f.trainer->evaluate(batch), InputError);
}

}  // namespace
}  // namespace cb::backends
