// JSON reporter: the whole study as one document (NaN and absent values become null).
#include <nlohmann/json.hpp>

#include <cmath>

#include "report/reporter.h"

namespace cb::report {
namespace {
using nlohmann::json;

json json_number(double v) { return std::isnan(v) ? json(nullptr) : json(v); }
json json_number(const std::optional<double>& v) { return v ? json_number(*v) : json(nullptr); }

json summary_json(const results::Summary& s) {
  return {{"n", s.n},
          {"mean", json_number(s.mean)},
          {"sd", json_number(s.stddev)},
          {"ci95", s.ci95 ? json::array({s.ci95->low, s.ci95->high}) : json(nullptr)},
          {"median", json_number(s.median)},
          {"min", json_number(s.min)},
          {"max", json_number(s.max)},
          {"olympic_mean", json_number(s.olympic_mean)}};
}

// A group's setup, counts and every metric's summary (or why it has none), with units.
json group_json(const GroupSummary& g) {
  json group = {{"framework", g.framework},
                {"model", g.model},
                {"recipe", g.recipe},
                {"setup", g.setup()},
                {"device", g.device},
                {"threads", g.threads},
                {"batch_size", g.batch_size},
                {"processes", g.processes},
                {"trials", g.trials},
                {"completed", g.completed},
                {"target_accuracy", json_number(g.target_accuracy)},
                {"reached_target", g.reached_target}};
  for (const auto& m : metrics()) {
    const auto it = g.summaries.find(m.id);
    group["metrics"][m.id] = it == g.summaries.end()
                                 ? json{{"unit", m.unit}, {"unavailable", g.unavailable(m.id)}}
                                 : summary_json(it->second);
    group["metrics"][m.id]["unit"] = m.unit;
  }
  return group;
}

json comparison_json(const Comparison& cmp) {
  const auto& w = cmp.test;
  json entry = {{"model", cmp.model},
                {"recipe", cmp.recipe},
                {"setup", cmp.setup},
                {"metric", cmp.metric_id},
                {"framework_a", cmp.framework_a},
                {"framework_b", cmp.framework_b},
                {"tested", w.tested},
                {"difference", json_number(w.difference)}};
  if (w.tested) {
    entry["ci95"] = {w.ci95.low, w.ci95.high};
    entry["t"] = json_number(w.t);
    entry["df"] = json_number(w.df);
    entry["p_value"] = json_number(w.p_value);
  } else {
    entry["note"] = w.not_tested_reason;
  }
  return entry;
}

json epoch_json(const results::EpochRecord& e) {
  return {{"epoch", e.epoch},
          {"train_loss", json_number(e.train_loss)},
          {"train_accuracy", json_number(e.train_accuracy)},
          {"test_accuracy", json_number(e.test_accuracy)},
          {"epoch_time_s", json_number(e.epoch_time_s)},
          {"training_time_s", json_number(e.training_time_s)},
          {"images_per_s", json_number(e.images_per_s)}};
}

json trial_json(const results::TrialRecord& t, const Study& study) {
  json epochs = json::array();
  if (const auto it = study.epochs.find(t.id); it != study.epochs.end()) {
    for (const auto& e : it->second) epochs.push_back(epoch_json(e));
  }
  return {{"key", t.key},
          {"framework", t.framework},
          {"model", t.model},
          {"recipe", t.recipe},
          {"seed", t.seed},
          {"device", t.device},
          {"dataset", t.dataset},
          {"synthetic", t.synthetic},
          {"status", results::to_string(t.status)},
          {"error", t.error},
          {"test_accuracy", json_number(t.test_accuracy)},
          {"training_time_s", json_number(t.training_time_s)},
          {"wall_time_s", json_number(t.wall_time_s)},
          {"time_to_target_s", json_number(t.time_to_target_s)},
          {"images_per_s", json_number(t.images_per_s)},
          {"config", t.config},
          {"telemetry", t.telemetry},
          {"epochs", epochs}};
}

class JsonReporter : public Reporter {
 public:
  std::string_view format() const override { return "json"; }
  bool shows_figures() const override { return false; }
  std::vector<ReportFile> render(const ReportContent& c) const override {
    json doc;
    doc["database"] = c.study.database;
    doc["synthetic_data"] = c.study.synthetic;
    doc["banner"] = c.study.synthetic ? json(kSyntheticBanner) : json(nullptr);
    doc["status_counts"] = c.study.status_counts;
    doc["environment"] = c.study.environment;
    doc["suites"] = json::array();
    for (const auto& s : c.study.suites) {
      doc["suites"].push_back(
          {{"name", s.name}, {"file", s.file}, {"created", s.created}, {"config", s.config}});
    }
    doc["groups"] = json::array();
    for (const auto& g : c.study.groups) doc["groups"].push_back(group_json(g));
    doc["comparisons"] = json::array();
    for (const auto& cmp : c.study.comparisons) doc["comparisons"].push_back(comparison_json(cmp));
    doc["trials"] = json::array();
    for (const auto& t : c.study.trials) doc["trials"].push_back(trial_json(t, c.study));
    json figures = {
        {"skipped", c.figures.skipped.empty() ? json(nullptr) : json(c.figures.skipped)},
        {"notes", c.figures.notes}};
    doc["figures"] = figures;
    // The answer first: the verdict opens the document, the rest follows in key order.
    nlohmann::ordered_json ordered;
    ordered["verdict"] = verdict_json(c.study.verdicts);
    if (!c.reference_lines.empty()) ordered["reference_check"] = c.reference_lines;
    for (const auto& [key, value] : doc.items()) ordered[key] = value;
    return {{"report.json", ordered.dump(2) + "\n"}};
  }
};

}  // namespace

std::unique_ptr<Reporter> make_json_reporter() { return std::make_unique<JsonReporter>(); }

}  // namespace cb::report
