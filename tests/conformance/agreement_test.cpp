// Cross-framework agreement: for every pair of available backends and every zoo model both can
// build, the same initial weights and the same batch give the same logits, and one SGD step
// (the default recipe: momentum 0.9, Nesterov, weight decay 5e-4) leaves the same parameters
// and batch-norm buffers. A backend that becomes available (TensorFlow) is held to it too.
//
// Agreement criterion, per tensor: max_i |a_i − b_i| / max(max_i |b_i|, 1e-6) ≤ 1e-4, where b is
// the first backend of the pair (registration order) and a the second. Scaling by the tensor's
// largest magnitude rather than element by element keeps near-zero entries (a logit of 1e-7, a
// weight that happens to be tiny) from demanding more than float32 convolutions can agree on.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "core/rng.h"
#include "model/initial_weights.h"
#include "model/zoo.h"

namespace cb::backends {
namespace {

constexpr double kTolerance = 1e-4;
constexpr int kBatch = 4;  // small, so that the whole file runs in about a minute on 2 cores

double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  }
  return diff / std::max(scale, 1e-6);
}

data::Batch random_batch(const model::ModelSpec& spec, std::uint64_t seed) {
  data::Batch b;
  b.n = kBatch;
  b.c = spec.input.c;
  b.h = spec.input.h;
  b.w = spec.input.w;
  Rng rng(seed);
  b.data.resize(static_cast<std::size_t>(b.numel()));
  for (auto& v : b.data) v = static_cast<float>(rng.normal());
  for (int i = 0; i < b.n; ++i) {
    b.labels.push_back(static_cast<std::int64_t>(rng.below(spec.num_classes)));
    b.indices.push_back(i);
  }
  return b;
}

// The batch in `layout` (the harness converts for backends that want NHWC).
data::Batch in_layout(const data::Batch& nchw, data::Layout layout) {
  if (layout == data::Layout::nchw) return nchw;
  data::Batch out = nchw;
  out.layout = data::Layout::nhwc;
  for (int n = 0; n < nchw.n; ++n) {
    for (int c = 0; c < nchw.c; ++c) {
      for (int h = 0; h < nchw.h; ++h) {
        for (int w = 0; w < nchw.w; ++w) {
          out.data[((static_cast<std::size_t>(n) * nchw.h + h) * nchw.w + w) * nchw.c + c] =
              nchw.data[((static_cast<std::size_t>(n) * nchw.c + c) * nchw.h + h) * nchw.w + w];
        }
      }
    }
  }
  return out;
}

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
    TrainerConfig config;
    config.spec = &spec_;
    config.initial_weights = &weights_;
    config.threads = 2;
    config.deterministic = true;
    auto t = backend.create_trainer(config);
    t->set_learning_rate(0.1);
    return t;
  }

  model::ModelSpec spec_;
  model::Weights weights_;
  std::vector<Candidate> candidates_;
};

TEST_P(Agreement, SameWeightsAndBatchGiveTheSameLogits) {
  const auto batch = random_batch(spec_, 1);
  for (std::size_t i = 0; i < candidates_.size(); ++i) {
    for (std::size_t j = i + 1; j < candidates_.size(); ++j) {
      auto ref = trainer(*candidates_[i].backend);
      auto other = trainer(*candidates_[j].backend);
      const auto a = other->logits(in_layout(batch, other->input_layout()));
      const auto b = ref->logits(in_layout(batch, ref->input_layout()));
      ASSERT_EQ(a.size(), b.size());
      EXPECT_LE(relative_difference(a, b), kTolerance)
          << candidates_[j].name << " vs " << candidates_[i].name << " on " << GetParam();
    }
  }
}

TEST_P(Agreement, OneSgdStepLeavesTheSameParametersAndBuffers) {
  const auto batch = random_batch(spec_, 2);
  for (std::size_t i = 0; i < candidates_.size(); ++i) {
    for (std::size_t j = i + 1; j < candidates_.size(); ++j) {
      auto ref = trainer(*candidates_[i].backend);
      auto other = trainer(*candidates_[j].backend);
      const auto step_b = ref->train_step(in_layout(batch, ref->input_layout()));
      const auto step_a = other->train_step(in_layout(batch, other->input_layout()));
      EXPECT_NEAR(step_a.loss, step_b.loss, kTolerance * std::max(1.0, std::abs(step_b.loss)));
      const auto wa = other->export_weights();
      const auto wb = ref->export_weights();
      ASSERT_EQ(wa.tensors.size(), wb.tensors.size());
      for (const auto& tb : wb.tensors) {
        const auto* ta = wa.find(tb.name);
        ASSERT_NE(ta, nullptr) << candidates_[j].name << " lacks " << tb.name;
        ASSERT_EQ(ta->tensor.shape, tb.tensor.shape) << tb.name;
        EXPECT_LE(relative_difference(ta->tensor.values, tb.tensor.values), kTolerance)
            << tb.name << ": " << candidates_[j].name << " vs " << candidates_[i].name << " on "
            << GetParam();
      }
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
