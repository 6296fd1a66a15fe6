// Verdicts in words and table cells: every sentence is built from the numbers of its row.
#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <map>

#include "report/study.h"
#include "report/verdict.h"

namespace cb::report {
namespace {

std::string times(double x) {
  return x < 2 ? fmt::format("{:.2f}×", x) : fmt::format("{:.1f}×", x);
}

// "2.1–2.5×" or "0.95–1.03×": both ends with the precision of the larger.
std::string times_range(double lo, double hi) {
  return hi < 2 ? fmt::format("{:.2f}–{:.2f}×", lo, hi) : fmt::format("{:.1f}–{:.1f}×", lo, hi);
}

std::string lower_title(const std::string& metric_id) {
  std::string t = metric(metric_id).title;
  if (t.size() > 1 && std::islower(static_cast<unsigned char>(t[1]))) {
    t[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(t[0])));
  }
  return t;
}

std::string capitalized(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

std::string level(const MetricVerdict& v) {
  return fmt::format("{:g} % CI", std::round(v.ci_confidence * 1000) / 10);
}

std::string threshold_cell(const MetricRule& rule) {
  return rule.ratio ? fmt::format("±{:g} %", rule.threshold * 100)
                    : fmt::format("±{:g} points", rule.threshold);
}

// "ratio 1.01× (95 % CI 0.98–1.03×)" or "difference +0.12 points (95 % CI -0.30 to 0.54)".
std::string effect_summary(const MetricVerdict& v) {
  if (!v.estimate) return "no estimate";
  if (v.rule.ratio) {
    std::string s = fmt::format("ratio {}", times(*v.estimate));
    if (v.ci) s += fmt::format(", {} {}", level(v), times_range(v.ci->low, v.ci->high));
    return s;
  }
  const int decimals = metric(v.rule.metric_id).decimals;
  std::string s = fmt::format("difference {:+.{}f} points", *v.estimate, decimals);
  if (v.ci) {
    s +=
        fmt::format(", {} {:.{}f} to {:.{}f}", level(v), v.ci->low, decimals, v.ci->high, decimals);
  }
  return s;
}

// Words for a ratio metric when A's value is larger / smaller than B's, and the sentence shape.
struct RatioWords {
  std::string pattern;  // {a} {b} {model} {x} {w}
  std::string larger, smaller;
};
const std::map<std::string, RatioWords>& ratio_words() {
  static const std::map<std::string, RatioWords> words = {
      {"training_time", {"{a} trains {model} {x} {w} than {b}", "slower", "faster"}},
      {"time_to_target",
       {"{a} reaches the target accuracy on {model} {x} {w} than {b}", "slower", "faster"}},
      {"throughput", {"{a} processes {x} {w} images per second than {b}", "more", "fewer"}},
      {"gpu_mem_peak", {"{a} needs {x} {w} peak GPU memory than {b}", "more", "less"}},
      {"rss_peak", {"{a} needs {x} {w} peak resident memory than {b}", "more", "less"}},
      {"energy", {"{a} uses {x} {w} GPU energy than {b}", "more", "less"}}};
  return words;
}

std::string ratio_sentence(const PairVerdict& pair, const MetricVerdict& v) {
  const auto& words = ratio_words().at(v.rule.metric_id);
  const bool larger = *v.estimate >= 1.0;
  const double x = larger ? *v.estimate : 1.0 / *v.estimate;
  std::string text =
      fmt::format(fmt::runtime(words.pattern), fmt::arg("a", pair.a), fmt::arg("b", pair.b),
                  fmt::arg("model", pair.model), fmt::arg("x", times(x)),
                  fmt::arg("w", larger ? words.larger : words.smaller));
  if (v.ci) {
    const double lo = larger ? v.ci->low : 1.0 / v.ci->high;
    const double hi = larger ? v.ci->high : 1.0 / v.ci->low;
    text += fmt::format(" ({} {}, {})", level(v), times_range(lo, hi), format_p(*v.p_value));
  }
  return text;
}

std::string difference_sentence(const PairVerdict& pair, const MetricVerdict& v) {
  const int decimals = metric(v.rule.metric_id).decimals;
  std::string text =
      fmt::format("{}'s {} is {:.{}f} points {} than {}'s", pair.a, lower_title(v.rule.metric_id),
                  std::fabs(*v.estimate), decimals, *v.estimate > 0 ? "higher" : "lower", pair.b);
  if (v.ci) {
    text += fmt::format(" ({} {:.{}f} to {:.{}f}, {})", level(v), v.ci->low, decimals, v.ci->high,
                        decimals, format_p(*v.p_value));
  }
  return text;
}

std::string sentence(const PairVerdict& pair, const MetricVerdict& v) {
  switch (v.verdict) {
    case Verdict::better:
    case Verdict::worse:
      // These sentences open with a framework's name, which keeps its own spelling ("dlib").
      return (v.rule.ratio ? ratio_sentence(pair, v) : difference_sentence(pair, v)) + ".";
    case Verdict::equivalent:
      return capitalized(fmt::format("{} equivalent within {} ({}; {}).",
                                     lower_title(v.rule.metric_id), threshold_cell(v.rule),
                                     v.tost_p ? "TOST " + format_p(*v.tost_p) : v.reason,
                                     effect_summary(v)));
    case Verdict::inconclusive:
      break;
  }
  return capitalized(fmt::format("{}: inconclusive, {} ({}).", lower_title(v.rule.metric_id),
                                 v.reason, effect_summary(v)));
}

}  // namespace

std::vector<std::string> verdict_sentences(const PairVerdict& pair) {
  std::vector<std::string> out;
  bool withheld = false;
  for (const auto& row : pair.rows) {
    if (pair.synthetic && row.rule.metric_id == "accuracy") {
      withheld = true;
      continue;
    }
    out.push_back(sentence(pair, row));
  }
  if (withheld) {
    out.push_back(
        "Accuracy is not judged here: these trials ran on synthetic data, whose accuracy says "
        "nothing about CIFAR-10, so the accuracy rows and figures are withheld.");
  }
  for (const auto& caveat : pair.caveats) out.push_back(caveat);
  return out;
}

std::vector<std::string> verdict_table_header() {
  return {"Metric",  "n (A/B)",   "A vs B", "95% CI",  "Test",
          "p-value", "Threshold", "TOST p", "Verdict", "Seeds per group for 80% power"};
}

std::vector<std::string> verdict_table_cells(const MetricVerdict& v) {
  const Metric& m = metric(v.rule.metric_id);
  const int decimals = m.decimals;
  std::string estimate = "n/a";
  std::string ci = "n/a";
  if (v.estimate) {
    estimate = v.rule.ratio ? times(*v.estimate) : fmt::format("{:+.{}f}", *v.estimate, decimals);
  }
  if (v.ci) {
    ci = v.rule.ratio
             ? times_range(v.ci->low, v.ci->high)
             : fmt::format("[{:.{}f}, {:.{}f}]", v.ci->low, decimals, v.ci->high, decimals);
    if (std::fabs(v.ci_confidence - 0.95) > 1e-9) ci += fmt::format(" ({})", level(v));
  }
  auto p_cell = [](const std::optional<double>& p) {
    if (!p) return std::string();
    return *p < 0.001 ? std::string("< 0.001") : fmt::format("{:.3f}", *p);
  };
  std::string verdict(to_string(v.verdict));
  if (v.verdict == Verdict::inconclusive) verdict += " (" + v.reason + ")";
  return {fmt::format("{} ({})", m.title, m.unit),
          fmt::format("{}/{}", v.n_a, v.n_b),
          estimate,
          ci,
          v.test,
          p_cell(v.p_value),
          threshold_cell(v.rule),
          p_cell(v.tost_p),
          verdict,
          v.seeds_needed ? std::to_string(*v.seeds_needed) : "n/a"};
}

}  // namespace cb::report
