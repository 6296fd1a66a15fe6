// Cross-framework agreement: for every pair of available backends and every zoo model both can
// build, the same initial weights and the same batch give the same logits, and one SGD step
// (the default recipe: momentum 0.9, Nesterov, weight decay 5e-4) leaves the same parameters
// and batch-norm buffers. A backend that becomes available (TensorFlow) is held to it too.
// The measurements and bounds are `cifarbench check`'s (src/conformance/measure.h), where the
// criteria and the evidence behind the whole-step bound are explained. Measured whole-step
// differences: 0.29 % (simple-cnn), 0.31 % (resnet20), 0.83 % (resnet56), 0.55 % (vgg11-bn).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "conformance/measure.h"
#include "model/initial_weights.h"
#include "model/zoo.h"

namespace cb::backends {
namespace {

using conformance::compare_logits;
using conformance::compare_sgd_step;
using conformance::random_batch;

constexpr int kBatch = 4;  // small, so that the whole file runs in about a minute on 2 cores

struct Candidate {
  const Backend* backend;
  std::string name;
};

class Agreement : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    register_builtin_backends();
    spec_ = model::build_zoo_model(GetParam(), 10);
    weights_ = model::initial_weights(spec_, 2024);
    std::string skipped;
    for (const auto& b : all_backends()) {
      const auto info = b->info();
      if (!info.available) {
        skipped += fmt_reason(info.name, info.unavailable_reason);
        continue;
      }
      if (auto why = b->cannot_build(spec_)) {
        skipped += fmt_reason(info.name, *why);
        continue;
      }
      candidates_.push_back({b.get(), info.name});
    }
    if (candidates_.size() < 2) {
      GTEST_SKIP() << "fewer than two backends can build " << GetParam() << ":" << skipped;
    }
  }

  static std::string fmt_reason(const std::string& name, const std::string& why) {
    return "\n  " + name + ": " + why;
  }

  std::unique_ptr<Trainer> trainer(const Backend& backend) const {
    ExecutionSettings execution;
    execution.threads = 2;
    execution.deterministic = true;
    return conformance::make_trainer(backend, spec_, weights_, execution);
  }

  model::ModelSpec spec_;
  model::Weights weights_;
  std::vector<Candidate> candidates_;
};

TEST_P(Agreement, SameWeightsAndBatchGiveTheSameLogits) {
  const auto batch = random_batch(spec_, kBatch, 1);
  for (std::size_t i = 0; i < candidates_.size(); ++i) {
    for (std::size_t j = i + 1; j < candidates_.size(); ++j) {
      auto ref = trainer(*candidates_[i].backend);
      auto other = trainer(*candidates_[j].backend);
      const auto logits = compare_logits(*ref, *other, batch);
      EXPECT_TRUE(logits.ok()) << candidates_[j].name << " vs " << candidates_[i].name << " on "
                               << GetParam() << ": " << logits.value << " > " << logits.tolerance;
    }
  }
}

TEST_P(Agreement, OneSgdStepLeavesTheSameParametersAndBuffers) {
  const auto batch = random_batch(spec_, kBatch, 2);
  for (std::size_t i = 0; i < candidates_.size(); ++i) {
    for (std::size_t j = i + 1; j < candidates_.size(); ++j) {
      auto ref = trainer(*candidates_[i].backend);
      auto other = trainer(*candidates_[j].backend);
      const auto step = compare_sgd_step(*ref, *other, batch);
      const std::string pair = candidates_[j].name + " vs " + candidates_[i].name + " on " + GetParam();
      EXPECT_TRUE(step.loss.ok()) << pair << ": " << step.loss.detail;
      EXPECT_TRUE(step.buffers.ok()) << pair << ": buffers " << step.buffers.value << ", " << step.buffers.detail;
      EXPECT_TRUE(step.step.ok()) << pair << ": step " << step.step.value;
    }
  }
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(ZooModels, Agreement, ::testing::ValuesIn(model::zoo_names()), test_name);

}  // namespace
}  // namespace cb::backends
