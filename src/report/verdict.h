// Verdicts: for two groups of trials (A against B), every compared metric's effect (a ratio of
// typical values, or a difference of means in points), its 95 % interval, the test suited to it,
// the practical threshold, the equivalence test, the seeds per group that 80 % power needs, and
// a verdict: better, worse, equivalent or inconclusive (with the reason). `cifarbench compare`
// and the report's opening section share this code (docs/statistics.md).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "results/statistics.h"

namespace cb::report {

inline constexpr double kVerdictAlpha = 0.05;  // level of every test
inline constexpr double kVerdictPower = 0.8;   // power the seeds-per-group figure aims for

// Practical thresholds: differences smaller than these do not matter.
struct Thresholds {
  double relative = 0.05;           // times, throughputs, memory, energy: +-5 %
  double accuracy_points = 0.5;     // test accuracy: +-0.5 percentage points
  double utilization_points = 5.0;  // GPU utilization: +-5 percentage points
};

enum class Verdict { better, worse, equivalent, inconclusive };
std::string_view to_string(Verdict verdict);

// How one metric is compared.
struct MetricRule {
  std::string metric_id;
  // true: ratio A/B of typical values (Hodges–Lehmann on logs, Mann–Whitney U, TOST on logs);
  // false: difference of means A - B (Welch's t-test, Welch's TOST).
  bool ratio = false;
  bool higher_is_better = true;
  double threshold = 0;  // relative (0.05) for ratios, points for differences
};
// The compared metrics in report order: accuracy, training time, GPU utilization, throughput,
// time to target, peak GPU memory, peak RSS, energy.
std::vector<MetricRule> comparison_rules(const Thresholds& thresholds);

struct MetricVerdict {
  MetricRule rule;
  std::size_t n_a = 0, n_b = 0;
  std::optional<double> estimate;                 // A/B, or A - B in the metric's unit
  std::optional<results::ConfidenceInterval> ci;  // of the estimate
  double ci_confidence = 0.95;                    // achieved level (3 vs 3 ranks: 0.90)
  std::string test;                               // "Mann-Whitney U" or "Welch t"
  std::optional<double> p_value;                  // two-sided
  std::optional<double> tost_p;                   // equivalence within the threshold
  std::optional<int> seeds_needed;                // per group, for 80 % power at the threshold
  Verdict verdict = Verdict::inconclusive;
  std::string reason;  // the verdict's grounds, in words
};
// Judges one metric of A against B from their values.
MetricVerdict judge_metric(const MetricRule& rule, const std::vector<double>& a,
                           const std::vector<double>& b);

struct PairVerdict {
  std::string a, b;  // what is compared: "torch" and "dlib", or "NEW torch" and "BASE torch"
  std::string model, recipe;
  std::string setup_a, setup_b;  // equal unless the comparison crosses setups
  bool synthetic = false;        // accuracy sentences are withheld
  std::vector<MetricVerdict> rows;
  // Further warnings about this pair (e.g. a trial that ran on a busy machine), one sentence each.
  std::vector<std::string> caveats;
  bool any_worse() const;
  std::string heading() const;  // "torch vs dlib: simple-cnn, default, cpu, 2 threads"
};

// The verdict section: one sentence per metric, built from the numbers; on synthetic data the
// accuracy sentence is replaced by one line that says why it is withheld.
std::vector<std::string> verdict_sentences(const PairVerdict& pair);

// The table of a pair's rows (shared by `compare` and the report's Table 8).
std::vector<std::string> verdict_table_header();
std::vector<std::string> verdict_table_cells(const MetricVerdict& row);

// "p < 0.001" or "p = 0.012".
std::string format_p(double p);

}  // namespace cb::report
