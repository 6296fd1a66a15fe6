// The study a report describes: trials grouped by framework x model x recipe, each metric
// summarized (n, mean, sd, 95 % CI, median, min, max, olympic mean) and every pair of
// frameworks compared with Welch's t-test and judged metric by metric (report/verdict.h). Built
// once from a results snapshot; reporters only format it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "report/verdict.h"
#include "results/records.h"
#include "results/statistics.h"

namespace cb::report {

// The sentence every output carries when any trial ran on synthetic data.
inline constexpr const char* kSyntheticBanner =
    "SYNTHETIC DATA: some trials ran on synthetic data; speed and utilization are valid, accuracy "
    "is not CIFAR-10's.";

// One tabulated metric: how to read it from a trial and how to show it.
struct Metric {
  std::string id;     // "accuracy", "training_time", ...
  std::string title;  // "Test accuracy"
  std::string unit;   // "%", "s", "images/s", ...
  int decimals = 2;
  bool higher_is_better = true;
  std::optional<double> (*value)(const results::TrialRecord&) = nullptr;
};
// In report order: accuracy, training time, GPU utilization, throughput, time to target,
// peak GPU memory, peak RSS, energy, CPU utilization.
const std::vector<Metric>& metrics();
const Metric& metric(const std::string& id);

struct GroupSummary {
  std::string framework, model, recipe;
  // The setup: trials differing in any of these are different groups, never pooled.
  std::string device;
  int threads = 0, batch_size = 0, processes = 1;
  // What ran, for the setup text: with threads = 0 ("all"), the logical CPUs its trials' machine
  // had (every backend then uses that many); and the recipe's precision ("fp32", "fp16", "bf16").
  int resolved_threads = 0;
  std::string precision = "fp32";
  int trials = 0;     // all trials of the group, whatever their status
  int completed = 0;  // the ones the statistics use
  std::map<std::string, std::vector<double>> values;  // per metric id, completed trials only
  std::map<std::string, results::Summary> summaries;  // per metric id with at least one value
  std::optional<double> target_accuracy;              // the recipe's target, when recorded
  int reached_target = 0;                             // completed trials that reached it
  std::string gpu_unavailable_reason;                 // why GPU metrics are absent
  std::string mfu_unavailable_reason;                 // why model FLOP utilization is absent
  // Machine guardrails (telemetry/guardrails.h): completed trials that ran on a busy or
  // throttled machine, with the first one's reason; and whether `cifarbench check` passed for
  // this framework's version on the machine of every trial ("pass", else what it recorded).
  int unquiet = 0;
  std::string unquiet_reason;
  std::string check = "pass";
  bool synthetic = false;                             // any of its trials on synthetic data
  std::string label() const;                          // "torch resnet20 default"
  std::string setup() const;  // "cpu, 2 threads, fp32" (+ ", batch 128", ", 2 processes")
  // "n/a (no NVIDIA driver)" and the like when the metric has no values; "" otherwise.
  std::string unavailable(const std::string& metric_id) const;
};

struct Comparison {
  std::string model, recipe, setup, metric_id;
  std::string framework_a, framework_b;  // difference is a - b
  results::WelchTest test;
};

struct Study {
  std::string database;
  std::vector<results::SuiteRecord> suites;
  std::vector<results::TrialRecord> trials;
  std::map<std::int64_t, std::vector<results::EpochRecord>> epochs;       // by trial id
  std::map<std::int64_t, std::vector<results::TelemetrySample>> samples;  // by trial id
  std::vector<GroupSummary> groups;     // sorted by model, recipe, setup, framework
  std::vector<Comparison> comparisons;  // per model x recipe x setup x metric, framework pairs
  // Per framework pair within a model x recipe x setup: the verdict of every compared metric
  // at the default thresholds (report/compare.h), which every report opens with.
  std::vector<PairVerdict> verdicts;
  bool synthetic = false;      // any trial on synthetic data
  nlohmann::json environment;  // the first recorded `cifarbench env` record
  std::map<std::string, int> status_counts;
  const results::TrialRecord* trial(std::int64_t id) const;
};

Study build_study(const results::ResultsSnapshot& snapshot);

// A trial's machine status from its telemetry summary: "quiet", "busy", "throttled",
// "busy, throttled" or "unknown" (telemetry off, or recorded before guardrails existed).
std::string machine_status(const results::TrialRecord& trial);

}  // namespace cb::report
