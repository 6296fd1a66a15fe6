// Grouping, summaries and pairwise comparisons of a study.
#include "report/study.h"

#include "results/mfu.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "core/error.h"
#include "report/compare.h"

namespace cb::report {
namespace {
using results::TrialRecord;

std::optional<double> scaled(const std::optional<double>& v, double factor) {
  if (!v) return std::nullopt;
  return *v * factor;
}

// results/mfu.h for a recorded trial: throughput × 3 × forward FLOPs over the recorded peak.
nlohmann::json mfu_of(const TrialRecord& t) {
  if (!t.images_per_s) return {{"unavailable", "no throughput recorded"}};
  return results::model_flop_utilization(t.config, t.environment, *t.images_per_s);
}

// The metrics that compare frameworks; memory and energy are shown but not tested.
const std::set<std::string> kCompared = {"accuracy", "training_time", "gpu_util", "throughput",
                                         "time_to_target"};
}  // namespace

const std::vector<Metric>& metrics() {
  static const std::vector<Metric> all = {
      {"accuracy", "Test accuracy", "%", 2, true,
       [](const TrialRecord& t) { return scaled(t.test_accuracy, 100.0); }},
      {"training_time", "Training time", "s", 1, false,
       [](const TrialRecord& t) { return t.training_time_s; }},
      {"gpu_util", "GPU utilization", "%", 1, true,
       [](const TrialRecord& t) { return t.gpu_util_mean_pct; }},
      {"throughput", "Throughput", "images/s", 0, true,
       [](const TrialRecord& t) { return t.images_per_s; }},
      {"time_to_target", "Time to target accuracy", "s", 1, false,
       [](const TrialRecord& t) { return t.time_to_target_s; }},
      {"gpu_mem_peak", "Peak GPU memory", "MiB", 0, false,
       [](const TrialRecord& t) { return scaled(t.gpu_mem_peak_bytes, 1.0 / (1024 * 1024)); }},
      {"rss_peak", "Peak resident memory", "MiB", 0, false,
       [](const TrialRecord& t) { return scaled(t.rss_peak_bytes, 1.0 / (1024 * 1024)); }},
      {"energy", "GPU energy", "kJ", 2, false,
       [](const TrialRecord& t) { return scaled(t.energy_j, 1e-3); }},
      {"cpu_util", "CPU utilization", "%", 1, true,
       [](const TrialRecord& t) { return t.cpu_util_mean_pct; }},
      {"mfu", "Model FLOP utilization", "%", 1, true, [](const TrialRecord& t) {
         const auto mfu = mfu_of(t);
         return mfu.contains("mfu") ? std::optional<double>(100 * mfu["mfu"].get<double>())
                                    : std::nullopt;
       }},
  };
  return all;
}

const Metric& metric(const std::string& id) {
  for (const auto& m : metrics()) {
    if (m.id == id) return m;
  }
  throw CheckFailed(fmt::format("report: no metric named '{}'", id));
}

std::string GroupSummary::setup() const {
  std::string text = device;
  if (threads > 0) {
    text += fmt::format(", {} thread{}", threads, threads == 1 ? "" : "s");
  } else if (resolved_threads > 0) {
    text += fmt::format(", {} threads (all)", resolved_threads);
  } else {
    text += ", all threads";
  }
  text += ", " + precision;
  if (batch_size > 0) text += fmt::format(", batch {}", batch_size);
  if (processes > 1) text += fmt::format(", {} processes", processes);
  return text;
}

std::string GroupSummary::label() const {
  return fmt::format("{} {} {}", framework, model, recipe);
}

std::string GroupSummary::unavailable(const std::string& metric_id) const {
  if (summaries.count(metric_id)) return "";
  if (completed == 0) return "n/a (no completed trial)";
  const bool gpu_metric =
      metric_id == "gpu_util" || metric_id == "gpu_mem_peak" || metric_id == "energy";
  if (gpu_metric && !gpu_unavailable_reason.empty()) {
    return fmt::format("n/a ({})", gpu_unavailable_reason);
  }
  if (metric_id == "mfu" && !mfu_unavailable_reason.empty()) {
    return fmt::format("n/a ({})", mfu_unavailable_reason);
  }
  if (metric_id == "time_to_target") {
    return target_accuracy ? "n/a (target never reached)" : "n/a (no target set)";
  }
  return "n/a (not recorded)";
}

const results::TrialRecord* Study::trial(std::int64_t id) const {
  for (const auto& t : trials) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

std::string machine_status(const results::TrialRecord& t) {
  if (!t.telemetry.is_object() || !t.telemetry.contains("guardrails")) return "unknown";
  return t.telemetry["guardrails"].value("status", "unknown");
}

namespace {

// What `cifarbench check` recorded for the trial's framework on its machine (trial/environment).
std::string check_result(const results::TrialRecord& t) {
  if (!t.environment.is_object() || !t.environment.contains("backends")) return "never";
  for (const auto& b : t.environment["backends"]) {
    if (b.value("name", "") == t.framework && b.contains("check")) return b["check"].value("result", "never");
  }
  return "never";
}

void note_machine_and_check(GroupSummary& g, const results::TrialRecord& t) {
  const std::string machine = machine_status(t);
  if (machine != "quiet" && machine != "unknown") {
    if (g.unquiet++ == 0) {
      const auto& reasons = t.telemetry["guardrails"]["reasons"];
      g.unquiet_reason = reasons.is_array() && !reasons.empty() ? reasons[0].get<std::string>() : machine;
    }
  }
  if (const std::string check = check_result(t); check != "pass") g.check = check;
}

// Sentences a pair's verdict carries about how far its numbers can be trusted.
std::vector<std::string> trust_caveats(const GroupSummary& a, const GroupSummary& b) {
  std::vector<std::string> out;
  for (const GroupSummary* g : {&a, &b}) {
    if (g->unquiet > 0) {
      out.push_back(fmt::format("{} of {}'s {} completed trials ran on a busy or throttled machine ({}); "
                                "its times and throughputs may be slower than the framework is",
                                g->unquiet, g->framework, g->completed, g->unquiet_reason));
    }
    if (g->check != "pass") {
      out.push_back(fmt::format("{} was {} on this machine: run `cifarbench check` before trusting its "
                                "numbers", g->framework, g->check == "fail" ? "FAILED by `cifarbench check`"
                                                                            : "never checked (`cifarbench check`)"));
    }
  }
  return out;
}

}  // namespace

namespace {

// The setup's threads as they ran and the recipe's precision, from the trial's records.
void note_threads_and_precision(GroupSummary& g, const results::TrialRecord& t) {
  const auto& cpu = t.environment.is_object() ? t.environment.value("cpu", nlohmann::json())
                                              : nlohmann::json();
  if (g.resolved_threads == 0 && cpu.is_object() && cpu.value("logical_cores", 0) > 0) {
    g.resolved_threads = cpu.value("logical_cores", 0);
  }
  const auto hardware = t.config.is_object()
                            ? t.config.value("/recipe/hardware"_json_pointer, nlohmann::json())
                            : nlohmann::json();
  if (hardware.is_object() && hardware.value("precision", "off") != "off") {
    g.precision = hardware.value("precision", "off");
  }
}

}  // namespace

Study build_study(const results::ResultsSnapshot& snapshot) {
  Study study;
  study.database = snapshot.database;
  study.suites = snapshot.suites;
  study.trials = snapshot.trials;
  for (const auto& e : snapshot.epochs) study.epochs[e.trial_id].push_back(e);
  for (const auto& s : snapshot.samples) study.samples[s.trial_id].push_back(s);

  using GroupKey = std::tuple<std::string, std::string, std::string, int, int, int, std::string>;
  std::map<GroupKey, GroupSummary> groups;
  for (const auto& t : study.trials) {
    study.synthetic |= t.synthetic;
    ++study.status_counts[std::string(results::to_string(t.status))];
    if (study.environment.is_null() && t.environment.is_object() && !t.environment.empty()) {
      study.environment = t.environment;
    }
    auto& g =
        groups[{t.model, t.recipe, t.device, t.threads, t.batch_size, t.processes, t.framework}];
    g.framework = t.framework;
    g.model = t.model;
    g.recipe = t.recipe;
    g.device = t.device;
    g.threads = t.threads;
    g.batch_size = t.batch_size;
    g.processes = t.processes;
    note_threads_and_precision(g, t);
    ++g.trials;
    g.synthetic |= t.synthetic;
    if (t.target_accuracy) g.target_accuracy = t.target_accuracy;
    if (t.status != results::TrialStatus::completed) continue;
    ++g.completed;
    note_machine_and_check(g, t);
    if (t.time_to_target_s) ++g.reached_target;
    if (!t.gpu_unavailable_reason.empty()) g.gpu_unavailable_reason = t.gpu_unavailable_reason;
    if (const auto mfu = mfu_of(t); mfu.contains("unavailable")) {
      g.mfu_unavailable_reason = mfu["unavailable"].get<std::string>();
    }
    for (const auto& m : metrics()) {
      if (const auto v = m.value(t)) g.values[m.id].push_back(*v);
    }
  }
  for (auto& [key, g] : groups) {
    for (const auto& [id, values] : g.values) g.summaries[id] = results::summarize(values);
    study.groups.push_back(std::move(g));
  }

  // Every pair of frameworks that trained the same model with the same recipe.
  for (std::size_t i = 0; i < study.groups.size(); ++i) {
    for (std::size_t j = i + 1; j < study.groups.size(); ++j) {
      const auto& a = study.groups[i];
      const auto& b = study.groups[j];
      if (a.model != b.model || a.recipe != b.recipe || a.setup() != b.setup()) continue;
      study.verdicts.push_back(compare_groups(a, b, a.framework, b.framework, Thresholds{}));
      for (auto& caveat : trust_caveats(a, b)) study.verdicts.back().caveats.push_back(std::move(caveat));
      for (const auto& m : metrics()) {
        if (!kCompared.count(m.id)) continue;
        const auto ia = a.values.find(m.id);
        const auto ib = b.values.find(m.id);
        if (ia == a.values.end() && ib == b.values.end()) continue;
        Comparison c{a.model, a.recipe, a.setup(), m.id, a.framework, b.framework, {}};
        static const std::vector<double> kNone;
        c.test = results::welch_t_test(ia == a.values.end() ? kNone : ia->second,
                                       ib == b.values.end() ? kNone : ib->second);
        study.comparisons.push_back(std::move(c));
      }
    }
  }
  return study;
}

}  // namespace cb::report
