#include "conformance/parity.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <set>
#include <sstream>

#include "conformance/measure.h"
#include "core/json_value.h"
#include "data/synthetic.h"
#include "model/analysis.h"
#include "model/initial_weights.h"
#include "model/zoo.h"

namespace cb::conformance {
namespace {

std::string layer_of(const std::string& tensor) { return tensor.substr(0, tensor.rfind('.')); }

// Batch `k` of the synthetic training split, normalized as the harness's pipeline does
// ((x / 255 − 0.5) / 0.25), NCHW.
data::Batch synthetic_batch(const data::Dataset& d, int k, int size) {
  data::Batch b;
  b.n = size;
  b.c = d.channels;
  b.h = d.height;
  b.w = d.width;
  const std::int64_t bytes = d.image_bytes();
  b.data.reserve(static_cast<std::size_t>(b.numel()));
  for (int i = 0; i < size; ++i) {
    const std::int64_t index = static_cast<std::int64_t>(k) * size + i;
    const std::uint8_t* px = d.train.image(index, bytes);
    for (std::int64_t j = 0; j < bytes; ++j) b.data.push_back((px[j] / 255.0f - 0.5f) / 0.25f);
    b.labels.push_back(d.train.labels[static_cast<std::size_t>(index)]);
    b.indices.push_back(index);
  }
  return b;
}

class PairRun {
 public:
  PairRun(const backends::Backend& a, const backends::Backend& b, const model::ModelSpec& spec,
          const model::Weights& weights, const ParityOptions& o)
      : a_(a), b_(b), spec_(spec), weights_(weights), o_(o) {}

  ParityTrace run(const data::Dataset& data) {
    trace_.a = a_.info().name;
    trace_.b = b_.info().name;
    try {
      auto ta = trainer(a_);
      auto tb = trainer(b_);
      trace_.initial_distance = relative_distance(ta->export_weights(), tb->export_weights());
      for (int k = 0; k < o_.steps; ++k) step(*ta, *tb, synthetic_batch(data, k, o_.batch), k + 1);
    } catch (const std::exception& e) {
      trace_.error = e.what();
    }
    return trace_;
  }

 private:
  std::unique_ptr<backends::Trainer> trainer(const backends::Backend& backend) const {
    backends::ExecutionSettings s;
    s.threads = o_.threads;
    s.deterministic = true;
    if (backend.unsupported(s)) s.deterministic = false;
    auto t = make_trainer(backend, spec_, weights_, s);
    t->set_learning_rate(o_.learning_rate);
    return t;
  }

  void step(backends::Trainer& ta, backends::Trainer& tb, const data::Batch& batch, int number) {
    ParityStep s;
    s.step = number;
    s.loss_a = backends::train_step_and_read(ta, in_layout(batch, ta.input_layout())).loss;
    s.loss_b = backends::train_step_and_read(tb, in_layout(batch, tb.input_layout())).loss;
    const auto wa = ta.export_weights();
    const auto wb = tb.export_weights();
    s.parameter_distance = relative_distance(wa, wb);
    std::optional<std::pair<std::string, double>> crossing;  // this step's furthest beyond noise
    for (const auto& [layer, d] : layer_distances(wa, wb)) {
      if (d > s.worst_layer_distance || s.worst_layer.empty()) s.worst_layer = layer, s.worst_layer_distance = d;
      if (d > o_.parameter_noise && (!crossing || d > crossing->second)) crossing = {layer, d};
    }
    // The layer that leaves the noise first names where the two part (the furthest, on a tie).
    if (!first_crossing_ && crossing) first_crossing_ = crossing;
    const double loss_diff = std::abs(s.loss_a - s.loss_b) / std::max(1.0, std::abs(s.loss_b));
    if (!trace_.first_step && (s.parameter_distance > o_.parameter_noise || loss_diff > o_.loss_noise)) {
      trace_.first_step = number;
      trace_.first_layer = first_crossing_ ? first_crossing_->first : s.worst_layer;
    }
    trace_.steps.push_back(std::move(s));
  }

  const backends::Backend& a_;
  const backends::Backend& b_;
  const model::ModelSpec& spec_;
  const model::Weights& weights_;
  const ParityOptions& o_;
  ParityTrace trace_;
  std::optional<std::pair<std::string, double>> first_crossing_;
};

// The effective settings of a freshly built trainer of `backend`.
std::vector<backends::EffectiveSetting> settings_of(const backends::Backend& backend,
                                                    const model::ModelSpec& spec,
                                                    const model::Weights& weights, int threads) {
  backends::ExecutionSettings s;
  s.threads = threads;
  return make_trainer(backend, spec, weights, s)->effective_settings();
}

}  // namespace

std::map<std::string, double> layer_distances(const model::Weights& a, const model::Weights& b) {
  std::map<std::string, std::pair<double, double>> sums;  // layer → (Σ d², Σ b²)
  for (const auto& tb : b.tensors) {
    const auto* ta = a.find(tb.name);
    auto& [diff, norm] = sums[layer_of(tb.name)];
    if (!ta || ta->tensor.values.size() != tb.tensor.values.size()) {
      diff = INFINITY;
      continue;
    }
    for (std::size_t k = 0; k < tb.tensor.values.size(); ++k) {
      const double d = static_cast<double>(ta->tensor.values[k]) - tb.tensor.values[k];
      diff += d * d;
      norm += static_cast<double>(tb.tensor.values[k]) * tb.tensor.values[k];
    }
  }
  std::map<std::string, double> out;
  for (const auto& [layer, s] : sums) out[layer] = std::sqrt(s.first) / std::max(std::sqrt(s.second), 1e-30);
  return out;
}

ParityReport run_parity(const std::vector<const backends::Backend*>& backends, const ParityOptions& options) {
  ParityReport report;
  report.options = options;
  const model::ModelSpec spec = model::build_zoo_model(options.model, 10);
  const model::Weights weights = model::initial_weights(spec, options.seed);
  std::vector<const backends::Backend*> usable;
  for (const auto* b : backends) {
    const auto info = b->info();
    if (!info.available) {
      report.left_out.push_back(fmt::format("{}: {}", info.name, info.unavailable_reason));
    } else if (auto why = b->cannot_build(spec)) {
      report.left_out.push_back(fmt::format("{}: {}", info.name, *why));
    } else {
      usable.push_back(b);
      report.backends.push_back(info.name);
      report.settings[info.name] = settings_of(*b, spec, weights, options.threads);
    }
  }
  data::SyntheticOptions so;
  so.seed = options.seed;
  so.train_count = static_cast<std::int64_t>(options.steps) * options.batch;
  so.test_count = 1;
  so.classes = spec.num_classes;
  const data::Dataset data = data::make_synthetic(so);
  for (std::size_t i = 0; i < usable.size(); ++i) {
    for (std::size_t j = i + 1; j < usable.size(); ++j) {
      report.pairs.push_back(PairRun(*usable[i], *usable[j], spec, weights, options).run(data));
    }
  }
  return report;
}

namespace {

std::string verdict(const ParityTrace& t, const ParityOptions& o) {
  if (!t.error.empty()) return fmt::format("stopped after {} step(s): {}", t.steps.size(), t.error);
  if (!t.first_step) {
    return fmt::format("agree within float32 noise for all {} steps (parameters ≤ {:.0e}, loss ≤ {:.0e})",
                       t.steps.size(), o.parameter_noise, o.loss_noise);
  }
  const auto& s = t.steps[static_cast<std::size_t>(*t.first_step - 1)];
  return fmt::format("part from step {}, in layer {} (parameters {:.2g} apart after it, bound {:.0e}); "
                     "after {} steps: {:.2g}",
                     *t.first_step, t.first_layer, s.parameter_distance, o.parameter_noise,
                     t.steps.size(), t.steps.empty() ? 0.0 : t.steps.back().parameter_distance);
}

void format_settings(std::ostringstream& out, const ParityReport& r) {
  std::vector<std::string> names;
  for (const auto& [backend, settings] : r.settings) {
    for (const auto& s : settings) {
      if (std::find(names.begin(), names.end(), s.name) == names.end()) names.push_back(s.name);
    }
  }
  out << "\neffective settings (read from each backend's trainer)\n";
  for (const auto& name : names) {
    out << fmt::format("  {}\n", name);
    for (const auto& [backend, settings] : r.settings) {
      std::string value = "(not reported)";
      for (const auto& s : settings) {
        if (s.name == name) value = s.value;
      }
      out << fmt::format("    {:<12} {}\n", backend, value);
    }
  }
}

}  // namespace

std::string format_parity(const ParityReport& r) {
  std::ostringstream out;
  out << fmt::format("parity of {}: {} SGD steps (lr {}, batch {}, seed {}), same initial weights and batches\n",
                     r.options.model, r.options.steps, r.options.learning_rate, r.options.batch, r.options.seed);
  for (const auto& l : r.left_out) out << fmt::format("left out: {}\n", l);
  if (r.pairs.empty()) out << "no pair of frameworks to compare (fewer than two can build the model here)\n";
  for (const auto& t : r.pairs) {
    out << fmt::format("\n{} vs {}: {}\n", t.a, t.b, verdict(t, r.options));
    out << fmt::format("  after loading: parameters {:.2g} apart\n", t.initial_distance);
    out << fmt::format("  {:>4}  {:>10}  {:>10}  {:>9}  {:>10}  {}\n", "step", "loss " + t.a, "loss " + t.b,
                       "|Δloss|", "params Δ", "furthest layer");
    for (const auto& s : t.steps) {
      out << fmt::format("  {:>4}  {:>10.6f}  {:>10.6f}  {:>9.2g}  {:>10.2g}  {} ({:.2g}){}\n", s.step,
                         s.loss_a, s.loss_b, std::abs(s.loss_a - s.loss_b), s.parameter_distance,
                         s.worst_layer, s.worst_layer_distance, t.first_step == s.step ? "  ← leaves noise" : "");
    }
  }
  format_settings(out, r);
  return out.str();
}

nlohmann::json to_json(const ParityReport& r) {
  nlohmann::json pairs = nlohmann::json::array();
  for (const auto& t : r.pairs) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : t.steps) {
      steps.push_back({{"step", s.step}, {"loss_a", s.loss_a}, {"loss_b", s.loss_b},
                       {"parameter_distance", s.parameter_distance}, {"worst_layer", s.worst_layer},
                       {"worst_layer_distance", s.worst_layer_distance}});
    }
    pairs.push_back({{"a", t.a}, {"b", t.b}, {"initial_distance", t.initial_distance},
                     {"first_step", or_null(t.first_step)},
                     {"first_layer", t.first_layer}, {"error", t.error}, {"steps", steps}});
  }
  nlohmann::json settings = nlohmann::json::object();
  for (const auto& [backend, list] : r.settings) {
    for (const auto& s : list) settings[backend][s.name] = s.value;
  }
  const auto& o = r.options;
  return {{"model", o.model}, {"steps", o.steps}, {"batch", o.batch}, {"learning_rate", o.learning_rate},
          {"seed", o.seed}, {"parameter_noise", o.parameter_noise}, {"loss_noise", o.loss_noise},
          {"backends", r.backends}, {"left_out", r.left_out}, {"pairs", pairs}, {"settings", settings}};
}

}  // namespace cb::conformance
