// CSV reporter: machine-readable long-form files (RFC 4180 quoting), one per kind of row.
#include <fmt/format.h>

#include <cmath>

#include "report/reporter.h"

namespace cb::report {
namespace {

std::string field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string csv_number(double v) { return std::isnan(v) ? "" : fmt::format("{}", v); }
std::string csv_number(const std::optional<double>& v) { return v ? csv_number(*v) : ""; }

std::string line(const std::vector<std::string>& cells) {
  std::string out;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) out += ',';
    out += field(cells[i]);
  }
  out += '\n';
  return out;
}

// One row per group and metric; a metric without values has n = 0 and says why in `note`.
std::string summary_csv(const Study& study, const std::string& banner) {
  std::string out =
      banner + line({"framework", "model", "recipe", "setup", "metric", "unit", "n", "mean", "sd",
                     "ci95_low", "ci95_high", "median", "min", "max", "olympic_mean", "note"});
  for (const auto& g : study.groups) {
    for (const auto& m : metrics()) {
      const auto it = g.summaries.find(m.id);
      if (it == g.summaries.end()) {
        out += line({g.framework, g.model, g.recipe, g.setup(), m.id, m.unit, "0", "", "", "", "",
                     "", "", "", "", g.unavailable(m.id)});
        continue;
      }
      const auto& s = it->second;
      out += line({g.framework, g.model, g.recipe, g.setup(), m.id, m.unit, std::to_string(s.n),
                   csv_number(s.mean), csv_number(s.stddev), s.ci95 ? csv_number(s.ci95->low) : "",
                   s.ci95 ? csv_number(s.ci95->high) : "", csv_number(s.median), csv_number(s.min),
                   csv_number(s.max), csv_number(s.olympic_mean), ""});
    }
  }
  return out;
}

std::string comparisons_csv(const Study& study, const std::string& banner) {
  std::string out = banner + line({"model", "recipe", "setup", "metric", "framework_a",
                                   "framework_b", "difference", "ci95_low", "ci95_high", "t", "df",
                                   "p_value", "tested", "note"});
  for (const auto& cmp : study.comparisons) {
    const auto& w = cmp.test;
    out += line({cmp.model, cmp.recipe, cmp.setup, cmp.metric_id, cmp.framework_a, cmp.framework_b,
                 csv_number(w.difference), w.tested ? csv_number(w.ci95.low) : "",
                 w.tested ? csv_number(w.ci95.high) : "", w.tested ? csv_number(w.t) : "",
                 w.tested ? csv_number(w.df) : "", w.tested ? csv_number(w.p_value) : "",
                 w.tested ? "true" : "false", w.not_tested_reason});
  }
  return out;
}

// The verdict section as rows: one per pair and metric, with the sentence it reads as.
std::string verdict_csv(const Study& study, const std::string& banner) {
  std::string out =
      banner + line({"a",       "b",        "model",        "recipe",  "setup_a",   "setup_b",
                     "metric",  "kind",     "n_a",          "n_b",     "estimate",  "ci_low",
                     "ci_high", "ci_level", "test",         "p_value", "threshold", "tost_p",
                     "verdict", "reason",   "seeds_needed", "sentence"});
  for (const auto& pair : study.verdicts) {
    const auto sentences = verdict_sentences(pair);
    for (std::size_t i = 0; i < pair.rows.size(); ++i) {
      const auto& v = pair.rows[i];
      // Sentences follow the rows, except the synthetic-accuracy row, which has none.
      const bool withheld = pair.synthetic && v.rule.metric_id == "accuracy";
      std::string sentence;
      if (!withheld) {
        std::size_t k = 0;
        for (std::size_t j = 0; j < i; ++j) {
          if (!(pair.synthetic && pair.rows[j].rule.metric_id == "accuracy")) ++k;
        }
        sentence = k < sentences.size() ? sentences[k] : "";
      }
      out += line({pair.a,
                   pair.b,
                   pair.model,
                   pair.recipe,
                   pair.setup_a,
                   pair.setup_b,
                   v.rule.metric_id,
                   v.rule.ratio ? "ratio" : "difference",
                   std::to_string(v.n_a),
                   std::to_string(v.n_b),
                   csv_number(v.estimate),
                   v.ci ? csv_number(v.ci->low) : "",
                   v.ci ? csv_number(v.ci->high) : "",
                   csv_number(v.ci_confidence),
                   v.test,
                   csv_number(v.p_value),
                   csv_number(v.rule.threshold),
                   csv_number(v.tost_p),
                   std::string(to_string(v.verdict)),
                   v.reason,
                   v.seeds_needed ? std::to_string(*v.seeds_needed) : "",
                   withheld ? "withheld: synthetic data" : sentence});
    }
  }
  return out;
}

std::string trials_csv(const Study& study, const std::string& banner) {
  std::string out = banner + line({"key",
                                   "framework",
                                   "model",
                                   "recipe",
                                   "seed",
                                   "threads",
                                   "batch_size",
                                   "device",
                                   "processes",
                                   "dataset",
                                   "synthetic",
                                   "status",
                                   "started",
                                   "ended",
                                   "test_accuracy",
                                   "training_time_s",
                                   "wall_time_s",
                                   "time_to_target_s",
                                   "images_per_s",
                                   "gpu_util_mean_pct",
                                   "gpu_mem_peak_bytes",
                                   "cpu_util_mean_pct",
                                   "rss_peak_bytes",
                                   "energy_j",
                                   "error"});
  for (const auto& t : study.trials) {
    out += line({t.key,
                 t.framework,
                 t.model,
                 t.recipe,
                 std::to_string(t.seed),
                 std::to_string(t.threads),
                 std::to_string(t.batch_size),
                 t.device,
                 std::to_string(t.processes),
                 t.dataset,
                 t.synthetic ? "true" : "false",
                 std::string(results::to_string(t.status)),
                 t.started,
                 t.ended,
                 csv_number(t.test_accuracy),
                 csv_number(t.training_time_s),
                 csv_number(t.wall_time_s),
                 csv_number(t.time_to_target_s),
                 csv_number(t.images_per_s),
                 csv_number(t.gpu_util_mean_pct),
                 csv_number(t.gpu_mem_peak_bytes),
                 csv_number(t.cpu_util_mean_pct),
                 csv_number(t.rss_peak_bytes),
                 csv_number(t.energy_j),
                 t.error});
  }
  return out;
}

// Every trial's epochs, in trial order, keyed by the trial's key.
std::string epochs_csv(const Study& study, const std::string& banner) {
  std::string out = banner + line({"key", "epoch", "train_loss", "train_accuracy", "test_accuracy",
                                   "epoch_time_s", "training_time_s", "images_per_s"});
  for (const auto& t : study.trials) {
    const auto it = study.epochs.find(t.id);
    if (it == study.epochs.end()) continue;
    for (const auto& e : it->second) {
      out += line({t.key, std::to_string(e.epoch), csv_number(e.train_loss),
                   csv_number(e.train_accuracy), csv_number(e.test_accuracy),
                   csv_number(e.epoch_time_s), csv_number(e.training_time_s),
                   csv_number(e.images_per_s)});
    }
  }
  return out;
}

class CsvReporter : public Reporter {
 public:
  std::string_view format() const override { return "csv"; }
  bool shows_figures() const override { return false; }
  std::vector<ReportFile> render(const ReportContent& c) const override {
    // A comment line is the only place a CSV can carry the banner; readers skip it with '#'.
    const std::string banner = c.study.synthetic ? fmt::format("# {}\n", kSyntheticBanner) : "";
    std::vector<ReportFile> files = {{"summary.csv", summary_csv(c.study, banner)},
                                     {"comparisons.csv", comparisons_csv(c.study, banner)},
                                     {"trials.csv", trials_csv(c.study, banner)},
                                     {"epochs.csv", epochs_csv(c.study, banner)},
                                     {"verdict.csv", verdict_csv(c.study, banner)}};
    if (!c.reference_lines.empty()) {  // the check's lines, one per row
      std::string text = banner + "line\n";
      for (const auto& l : c.reference_lines) text += field(l) + "\n";
      files.push_back({"reference_check.csv", text});
    }
    return files;
  }
};

}  // namespace

std::unique_ptr<Reporter> make_csv_reporter() { return std::make_unique<CsvReporter>(); }

}  // namespace cb::report
