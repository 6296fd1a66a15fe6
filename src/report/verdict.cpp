// Judging a metric of A against B, and saying the result in a sentence.
#include "report/verdict.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "report/study.h"
#include "results/equivalence.h"
#include "results/rank_tests.h"

namespace cb::report {
namespace {
using results::ConfidenceInterval;

// The smallest n per group at which the exact two-sided Mann–Whitney test can reach alpha.
int min_rank_test_seeds() {
  int n = 2;
  while (results::mann_whitney_min_p_two_sided(n, n) > kVerdictAlpha) ++n;
  return n;
}

// Ratio metrics: Hodges–Lehmann ratio with its interval, Mann–Whitney U, TOST on log values,
// and seeds for the t-test on log values, scaled by 1 / ARE (pi / 3) for the rank test.
void measure_ratio(MetricVerdict& v, const std::vector<double>& a, const std::vector<double>& b) {
  v.test = "Mann-Whitney U";
  const auto hl = results::hodges_lehmann_ratio(a, b);
  if (hl.estimated) {
    v.estimate = hl.estimate;
    v.ci = hl.ci;
    v.ci_confidence = hl.confidence;
  }
  const auto mw = results::mann_whitney_u(a, b);
  if (mw.tested) v.p_value = mw.p_value;
  const auto tost = results::log_ratio_tost(a, b, v.rule.threshold);
  if (tost.tested) v.tost_p = tost.p_value;
  std::vector<double> la, lb;
  for (double x : a) la.push_back(std::log(x));
  for (double y : b) lb.push_back(std::log(y));
  const double sd = results::pooled_stddev(la, lb);
  if (std::isnan(sd)) return;
  if (const auto n = results::samples_per_group(std::log1p(v.rule.threshold), sd, kVerdictAlpha,
                                                kVerdictPower)) {
    v.seeds_needed = std::max(static_cast<int>(std::ceil(*n * M_PI / 3.0)), min_rank_test_seeds());
  }
}

// Difference metrics: Welch's t-test and interval, Welch's TOST, seeds for the t-test.
void measure_difference(MetricVerdict& v, const std::vector<double>& a,
                        const std::vector<double>& b) {
  v.test = "Welch t";
  const auto w = results::welch_t_test(a, b);
  if (!a.empty() && !b.empty()) v.estimate = w.difference;
  if (w.tested) {
    v.ci = w.ci95;
    v.p_value = w.p_value;
  }
  const auto tost = results::welch_tost(a, b, v.rule.threshold);
  if (tost.tested) v.tost_p = tost.p_value;
  const double sd = results::pooled_stddev(a, b);
  if (std::isnan(sd)) return;
  v.seeds_needed = results::samples_per_group(v.rule.threshold, sd, kVerdictAlpha, kVerdictPower);
}

// +1 when the estimate is better than the threshold, -1 when worse, 0 within it.
int side_of_threshold(const MetricVerdict& v) {
  const double e = *v.estimate;
  const double t = v.rule.threshold;
  const bool up = v.rule.ratio ? e > 1.0 + t : e > t;
  const bool down = v.rule.ratio ? e < 1.0 / (1.0 + t) : e < -t;
  if (!up && !down) return 0;
  return up == v.rule.higher_is_better ? 1 : -1;
}

std::string threshold_text(const MetricRule& rule) {
  return rule.ratio ? fmt::format("±{:g} %", rule.threshold * 100)
                    : fmt::format("±{:g} points", rule.threshold);
}

std::string seeds_text(const MetricVerdict& v) {
  if (!v.seeds_needed) return "";
  return fmt::format("; about {} seeds per group would detect {} with 80 % power", *v.seeds_needed,
                     threshold_text(v.rule));
}

// Why neither a difference nor equivalence was shown.
std::string inconclusive_reason(const MetricVerdict& v) {
  if (v.rule.ratio) {
    const double floor = results::mann_whitney_min_p_two_sided(v.n_a, v.n_b);
    if (floor > kVerdictAlpha) {
      return fmt::format(
          "too few seeds: with {} vs {} runs the exact two-sided Mann-Whitney p cannot go below "
          "{:.3f}, so no difference can be significant at 5 %{}",
          v.n_a, v.n_b, floor, seeds_text(v));
    }
  }
  return fmt::format("neither a significant difference ({}) nor equivalence within {} ({}){}",
                     v.p_value ? format_p(*v.p_value) : "not tested", threshold_text(v.rule),
                     v.tost_p ? "TOST " + format_p(*v.tost_p) : "TOST not tested", seeds_text(v));
}

void decide(MetricVerdict& v, const std::vector<double>& a, const std::vector<double>& b) {
  if (v.n_a < 2 || v.n_b < 2) {
    v.p_value.reset();  // a rank test of 1 value against 1 "runs", but says nothing
    v.tost_p.reset();
    v.reason =
        fmt::format("not tested: fewer than 2 results in a group (n = {} and {})", v.n_a, v.n_b);
    return;
  }
  if (!v.p_value && !v.tost_p) {
    const bool identical = std::all_of(a.begin(), a.end(), [&](double x) { return x == a[0]; }) &&
                           std::all_of(b.begin(), b.end(), [&](double x) { return x == a[0]; });
    v.verdict = identical ? Verdict::equivalent : Verdict::inconclusive;
    v.reason = identical ? "every value identical" : "not tested: no variation within either group";
    return;
  }
  if (v.tost_p && *v.tost_p < kVerdictAlpha) {
    v.verdict = Verdict::equivalent;
    v.reason =
        fmt::format("equivalent within {} (TOST {})", threshold_text(v.rule), format_p(*v.tost_p));
    return;
  }
  if (v.p_value && *v.p_value < kVerdictAlpha && v.estimate) {
    const int side = side_of_threshold(v);
    if (side != 0) {
      v.verdict = side > 0 ? Verdict::better : Verdict::worse;
      v.reason = fmt::format("significant ({}) and beyond {}", format_p(*v.p_value),
                             threshold_text(v.rule));
      return;
    }
    v.reason = fmt::format(
        "a significant difference ({}) smaller than {}, but not shown equivalent (TOST {}){}",
        format_p(*v.p_value), threshold_text(v.rule), v.tost_p ? format_p(*v.tost_p) : "n/a",
        seeds_text(v));
    return;
  }
  v.reason = inconclusive_reason(v);
}
}  // namespace

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::better:
      return "better";
    case Verdict::worse:
      return "worse";
    case Verdict::equivalent:
      return "equivalent";
    case Verdict::inconclusive:
      break;
  }
  return "inconclusive";
}

std::string format_p(double p) {
  return p < 0.001 ? std::string("p < 0.001") : fmt::format("p = {:.3f}", p);
}

std::vector<MetricRule> comparison_rules(const Thresholds& t) {
  return {
      {"accuracy", false, true, t.accuracy_points},    {"training_time", true, false, t.relative},
      {"gpu_util", false, true, t.utilization_points}, {"throughput", true, true, t.relative},
      {"time_to_target", true, false, t.relative},     {"gpu_mem_peak", true, false, t.relative},
      {"rss_peak", true, false, t.relative},           {"energy", true, false, t.relative}};
}

MetricVerdict judge_metric(const MetricRule& rule, const std::vector<double>& a,
                           const std::vector<double>& b) {
  MetricVerdict v;
  v.rule = rule;
  v.n_a = a.size();
  v.n_b = b.size();
  if (rule.ratio) {
    measure_ratio(v, a, b);
  } else {
    measure_difference(v, a, b);
  }
  decide(v, a, b);
  return v;
}

bool PairVerdict::any_worse() const {
  return std::any_of(rows.begin(), rows.end(),
                     [](const MetricVerdict& r) { return r.verdict == Verdict::worse; });
}

std::string PairVerdict::heading() const {
  std::string text = fmt::format("{} vs {}: {}, {}, {}", a, b, model, recipe, setup_a);
  if (setup_b != setup_a) text += fmt::format(" (against {})", setup_b);
  return text;
}

}  // namespace cb::report
