#include "conformance/measure.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/rng.h"
#include "model/analysis.h"

namespace cb::conformance {
namespace {

double max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0;
  for (std::size_t i = 0; i < b.size() && i < a.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
  }
  return diff;
}

// The largest magnitude among all tensors of the layer that owns `name` ("<layer>.<kind>").
double layer_scale(const model::Weights& w, const std::string& name) {
  const std::string layer = name.substr(0, name.rfind('.') + 1);
  double scale = 1e-6;
  for (const auto& t : w.tensors) {
    if (t.name.rfind(layer, 0) != 0) continue;
    for (float v : t.tensor.values) scale = std::max(scale, std::abs(static_cast<double>(v)));
  }
  return scale;
}

// The running statistics after one step, each held to kBufferTolerance of its layer's scale;
// the value is the worst ratio (difference / scale).
Agreement compare_buffers(const model::Weights& other, const model::Weights& reference) {
  Agreement a{0, kBufferTolerance, "no batch-norm buffers"};
  for (const auto& tb : reference.tensors) {
    if (tb.trainable) continue;
    const auto* ta = other.find(tb.name);
    if (!ta || ta->tensor.shape != tb.tensor.shape) {
      return {1, kBufferTolerance, fmt::format("{}: missing or another shape", tb.name)};
    }
    const double ratio = max_abs_difference(ta->tensor.values, tb.tensor.values) / layer_scale(reference, tb.name);
    if (ratio >= a.value) a = {ratio, kBufferTolerance, fmt::format("largest in {}", tb.name)};
  }
  return a;
}

// The whole step (after − before) of `other` against `reference`, relative L2.
Agreement compare_steps(const model::Weights& before, const model::Weights& other,
                        const model::Weights& reference) {
  double diff = 0, norm = 0;
  for (const auto& tb : reference.tensors) {
    if (!tb.trainable) continue;
    const auto* ta = other.find(tb.name);
    const auto* t0 = before.find(tb.name);
    if (!ta || !t0 || ta->tensor.values.size() != tb.tensor.values.size()) {
      return {1, kStepTolerance, fmt::format("{}: missing or another shape", tb.name)};
    }
    for (std::size_t k = 0; k < tb.tensor.values.size(); ++k) {
      const double db = static_cast<double>(tb.tensor.values[k]) - t0->tensor.values[k];
      const double da = static_cast<double>(ta->tensor.values[k]) - t0->tensor.values[k];
      diff += (da - db) * (da - db);
      norm += db * db;
    }
  }
  return {std::sqrt(diff / std::max(norm, 1e-30)), kStepTolerance, "relative L2 of the whole step"};
}

}  // namespace

data::Batch random_batch(const model::ModelSpec& spec, int n, std::uint64_t seed) {
  data::Batch b;
  b.n = n;
  b.c = spec.input.c;
  b.h = spec.input.h;
  b.w = spec.input.w;
  Rng rng(seed);
  b.data.resize(static_cast<std::size_t>(b.numel()));
  for (auto& v : b.data) v = static_cast<float>(rng.normal());
  for (int i = 0; i < b.n; ++i) {
    b.labels.push_back(static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(spec.num_classes))));
    b.indices.push_back(i);
  }
  return b;
}

data::Batch in_layout(const data::Batch& nchw, data::Layout layout) {
  if (layout == data::Layout::nchw) return nchw;
  data::Batch out = nchw;
  out.layout = data::Layout::nhwc;
  const std::size_t hw = static_cast<std::size_t>(nchw.h) * nchw.w;
  for (std::size_t n = 0; n < static_cast<std::size_t>(nchw.n); ++n) {
    for (std::size_t c = 0; c < static_cast<std::size_t>(nchw.c); ++c) {
      for (std::size_t p = 0; p < hw; ++p) {
        out.data[(n * hw + p) * nchw.c + c] = nchw.data[(n * nchw.c + c) * hw + p];
      }
    }
  }
  return out;
}

double relative_max_difference(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double scale = 0;
  for (float v : b) scale = std::max(scale, std::abs(static_cast<double>(v)));
  return max_abs_difference(a, b) / std::max(scale, 1e-6);
}

double relative_distance(const model::Weights& a, const model::Weights& b) {
  double diff = 0, norm = 0;
  for (const auto& tb : b.tensors) {
    if (!tb.trainable) continue;
    const auto* ta = a.find(tb.name);
    if (!ta || ta->tensor.values.size() != tb.tensor.values.size()) return INFINITY;
    for (std::size_t k = 0; k < tb.tensor.values.size(); ++k) {
      const double d = static_cast<double>(ta->tensor.values[k]) - tb.tensor.values[k];
      diff += d * d;
      norm += static_cast<double>(tb.tensor.values[k]) * tb.tensor.values[k];
    }
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

std::unique_ptr<backends::Trainer> make_trainer(const backends::Backend& backend,
                                                const model::ModelSpec& spec,
                                                const model::Weights& weights,
                                                const backends::ExecutionSettings& execution) {
  backends::TrainerConfig config;
  config.model = std::make_shared<const model::AnalysedModel>(model::analyse(spec));
  config.initial_weights = &weights;
  config.execution = execution;
  config.seed = 1;
  auto t = backend.create_trainer(config);
  t->set_learning_rate(kLearningRate);
  return t;
}

Agreement compare_logits(backends::Trainer& reference, backends::Trainer& other,
                         const data::Batch& nchw) {
  const auto a = other.logits(in_layout(nchw, other.input_layout()));
  const auto b = reference.logits(in_layout(nchw, reference.input_layout()));
  if (a.size() != b.size()) {
    return {INFINITY, kLogitTolerance, fmt::format("{} logits against {}", a.size(), b.size())};
  }
  return {relative_max_difference(a, b), kLogitTolerance, "max |difference| / max |logit|"};
}

StepAgreement compare_sgd_step(backends::Trainer& reference, backends::Trainer& other,
                               const data::Batch& nchw) {
  const auto before = reference.export_weights();
  const auto step_b = backends::train_step_and_read(reference, in_layout(nchw, reference.input_layout()));
  const auto step_a = backends::train_step_and_read(other, in_layout(nchw, other.input_layout()));
  const auto wa = other.export_weights();
  const auto wb = reference.export_weights();
  StepAgreement r;
  r.loss = {std::abs(step_a.loss - step_b.loss) / std::max(1.0, std::abs(step_b.loss)), kLossTolerance,
            fmt::format("loss {:.6f} against {:.6f}", step_a.loss, step_b.loss)};
  r.buffers = compare_buffers(wa, wb);
  r.step = compare_steps(before, wa, wb);
  return r;
}

}  // namespace cb::conformance
