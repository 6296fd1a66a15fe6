// The torch backend on a CUDA GPU, held to the CPU from the same weights and batch: logits,
// a few SGD steps, every precision and memory format, determinism. Each test SKIPs (visibly)
// where LibTorch has no CUDA device, so these run for real only on a GPU machine
// (scripts/gpu-check.sh runs them with `ctest -L '^gpu$'`).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "model/initial_weights.h"
#include "model/zoo.h"
#include "support/require_backend.h"
#include "torch/tiny_models.h"

namespace cb {
namespace {
using testing::cpu_config;
using testing::random_batch;
using testing::torch_backend;

bool has_cuda() {
  for (const auto& d : torch_backend().info().devices) {
    if (d.id == "cuda:0") return true;
  }
  return false;
}

#define REQUIRE_CUDA()                                                                        \
  do {                                                                                        \
    CIFARBENCH_REQUIRE_BACKEND("torch");                                                      \
    if (!has_cuda()) GTEST_SKIP() << "no CUDA device: this LibTorch sees " << devices_text(); \
  } while (false)

std::string devices_text() {
  std::string out;
  for (const auto& d : torch_backend().info().devices) out += (out.empty() ? "" : ", ") + d.id;
  return out;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

struct Fixture {
  model::ModelSpec spec = model::build_zoo_model("resnet20", 10);
  model::Weights weights = model::initial_weights(spec, 7);
  data::Batch batch = random_batch(spec, 64, 11);
  backends::TrainerConfig config(const std::string& device) const {
    backends::TrainerConfig c = cpu_config(spec, weights);
    c.execution.device = device;
    c.execution.deterministic = true;
    return c;
  }
};

TEST(Cuda, LogitsAgreeWithTheCpuFromTheSameWeightsAndBatch) {
  REQUIRE_CUDA();
  Fixture f;
  auto cpu = torch_backend().create_trainer(f.config("cpu"));
  auto gpu = torch_backend().create_trainer(f.config("cuda:0"));
  EXPECT_LT(max_abs_diff(cpu->logits(f.batch), gpu->logits(f.batch)), 1e-3);
}

TEST(Cuda, SgdStepsFollowTheCpuLossForFiveSteps) {
  REQUIRE_CUDA();
  Fixture f;
  auto cpu = torch_backend().create_trainer(f.config("cpu"));
  auto gpu = torch_backend().create_trainer(f.config("cuda:0"));
  for (auto* t : {cpu.get(), gpu.get()}) t->set_learning_rate(0.05);
  for (int step = 0; step < 5; ++step) {
    const double a = backends::train_step_and_read(*cpu, f.batch).loss, b = backends::train_step_and_read(*gpu, f.batch).loss;
    EXPECT_NEAR(a, b, 1e-3 * std::max(1.0, std::fabs(a))) << "step " << step;
  }
}

TEST(Cuda, EveryPrecisionAndMemoryFormatOverfitsOneBatch) {
  REQUIRE_CUDA();
  Fixture f;
  for (auto precision : {backends::MixedPrecision::off, backends::MixedPrecision::bf16,
                         backends::MixedPrecision::fp16}) {
    for (bool channels_last : {false, true}) {
      backends::TrainerConfig c = f.config("cuda:0");
      c.execution.precision = precision;
      c.execution.channels_last = channels_last;
      c.execution.deterministic = false;
      c.execution.autotune = true;
      auto t = torch_backend().create_trainer(c);
      t->set_learning_rate(0.05);
      const double first = backends::train_step_and_read(*t, f.batch).loss;
      double last = first;
      for (int i = 0; i < 30; ++i) last = backends::train_step_and_read(*t, f.batch).loss;
      EXPECT_TRUE(std::isfinite(last)) << backends::to_string(precision) << " cl=" << channels_last;
      EXPECT_LT(last, 0.5 * first) << backends::to_string(precision) << " cl=" << channels_last;
    }
  }
}

TEST(Cuda, ChannelsLastGivesTheSameLogitsAsContiguous) {
  REQUIRE_CUDA();
  Fixture f;
  backends::TrainerConfig cl = f.config("cuda:0");
  cl.execution.channels_last = true;
  auto a = torch_backend().create_trainer(f.config("cuda:0"));
  auto b = torch_backend().create_trainer(cl);
  EXPECT_LT(max_abs_diff(a->logits(f.batch), b->logits(f.batch)), 1e-3);
}

TEST(Cuda, DeterministicModeGivesTheSameLossesTwice) {
  REQUIRE_CUDA();
  Fixture f;
  std::vector<double> runs[2];
  for (auto& losses : runs) {
    auto t = torch_backend().create_trainer(f.config("cuda:0"));
    t->set_learning_rate(0.05);
    for (int i = 0; i < 5; ++i) losses.push_back(backends::train_step_and_read(*t, f.batch).loss);
  }
  EXPECT_EQ(runs[0], runs[1]);
}

TEST(Cuda, EvaluationCountsAgreeWithTheCpu) {
  REQUIRE_CUDA();
  Fixture f;
  auto cpu = torch_backend().create_trainer(f.config("cpu"));
  auto gpu = torch_backend().create_trainer(f.config("cuda:0"));
  const auto a = cpu->evaluate(f.batch), b = gpu->evaluate(f.batch);
  EXPECT_EQ(a.count, b.count);
  EXPECT_NEAR(static_cast<double>(a.correct), static_cast<double>(b.correct), 1.0);
  EXPECT_NEAR(a.loss_sum, b.loss_sum, 1e-3 * std::max(1.0, a.loss_sum));
}

}  // namespace
}  // namespace cb
