// Table building: the statistics of each group and comparison as text cells.
#include "report/tables.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>

namespace cb::report {
namespace {

std::string interval(const results::ConfidenceInterval& ci, int decimals) {
  return fmt::format("[{}, {}]", format_number(ci.low, decimals), format_number(ci.high, decimals));
}

std::vector<std::string> group_columns(const GroupSummary& g) {
  return {g.framework, g.model, g.recipe, g.setup()};
}

// One row per group: n, mean, sd, 95 % CI, median, min, max (and the olympic mean if asked).
Table stats_table(const Study& study, std::string id, std::string title, const Metric& m,
                  bool olympic) {
  Table t{std::move(id),
          std::move(title),
          {"Framework", "Model", "Recipe", "Setup", "n", "Mean", "SD", "95% CI", "Median", "Min",
           "Max"},
          {},
          {}, {}};
  if (olympic) t.header.push_back("Olympic mean");
  for (const auto& g : study.groups) {
    if (m.id == "accuracy" && g.synthetic) {
      t.withheld = kAccuracyWithheld;
      continue;
    }
    auto row = group_columns(g);
    const std::string missing = g.unavailable(m.id);
    if (!missing.empty()) {
      row.push_back(std::to_string(g.values.count(m.id) ? g.values.at(m.id).size() : 0));
      row.push_back(missing);
      row.resize(t.header.size(), "");
      t.rows.push_back(std::move(row));
      continue;
    }
    const auto& s = g.summaries.at(m.id);
    row.push_back(std::to_string(s.n));
    row.push_back(format_number(s.mean, m.decimals));
    row.push_back(s.n < 2 ? "n/a" : format_number(s.stddev, m.decimals));
    row.push_back(s.ci95 ? interval(*s.ci95, m.decimals) : "n/a (n < 2)");
    row.push_back(format_number(s.median, m.decimals));
    row.push_back(format_number(s.min, m.decimals));
    row.push_back(format_number(s.max, m.decimals));
    if (olympic) {
      row.push_back(s.olympic_mean ? format_number(*s.olympic_mean, m.decimals) : "n/a (n < 5)");
    }
    t.rows.push_back(std::move(row));
  }
  t.notes.push_back(
      "Completed trials only; mean with Student-t 95% confidence interval; SD is the sample "
      "standard deviation.");
  return t;
}

std::string mean_or_missing(const GroupSummary& g, const std::string& metric_id) {
  const std::string missing = g.unavailable(metric_id);
  if (!missing.empty()) return missing;
  const auto& s = g.summaries.at(metric_id);
  const int decimals = metric(metric_id).decimals;
  std::string text = format_number(s.mean, decimals);
  if (s.ci95) text.append(" ").append(interval(*s.ci95, decimals));
  return text;
}

// Table 8: every verdict row (report/verdict.h), A against B, with the seeds each group needs.
Table comparisons_table(const Study& study) {
  Table t{"table8_comparisons",
          "Table 8. Framework comparisons (A vs B: ratio of typical values or difference of "
          "means, test, equivalence, verdict)",
          {"Model", "Recipe", "Setup", "A", "B"},
          {},
          {}, {}};
  const auto header = verdict_table_header();
  t.header.insert(t.header.end(), header.begin(), header.end());
  for (const auto& pair : study.verdicts) {
    for (const auto& row : pair.rows) {
      if (pair.synthetic && row.rule.metric_id == "accuracy") {
        t.withheld = kAccuracyWithheld;
        continue;
      }
      std::vector<std::string> cells = {pair.model, pair.recipe, pair.setup_a, pair.a, pair.b};
      const auto rest = verdict_table_cells(row);
      cells.insert(cells.end(), rest.begin(), rest.end());
      t.rows.push_back(std::move(cells));
    }
  }
  if (study.verdicts.empty()) {
    t.notes.push_back("No two frameworks trained the same model with the same recipe.");
  }
  t.notes.push_back(
      "Times, throughputs, memory and energy: ratio A/B of typical values (Hodges-Lehmann on "
      "logs) with its interval and the Mann-Whitney U test; accuracy and utilization: difference "
      "of means in points with Welch's t-test. TOST tests equivalence within the threshold; the "
      "last column is the seeds per group a t-test needs to detect the threshold with 80% power "
      "at the observed spread (docs/statistics.md).");
  t.notes.push_back(
      "A comparison needs at least 2 completed trials (seeds) per framework; otherwise it is "
      "not tested rather than implying a difference.");
  return t;
}

Table trials_table(const Study& study) {
  Table t{"table9_trials",
          "Table 9. Trials",
          {"Trial", "Status", "Data", "Test acc. (%)", "Training time (s)", "Wall time (s)",
           "Images/s", "Epochs", "Machine", "Error"},
          {},
          {}, {}};
  auto opt = [](const std::optional<double>& v, double scale, int decimals) {
    return v ? format_number(*v * scale, decimals) : std::string("n/a");
  };
  for (const auto& tr : study.trials) {
    const auto it = study.epochs.find(tr.id);
    const std::size_t epochs = it == study.epochs.end() ? 0 : it->second.size();
    std::string error = tr.error;
    if (error.size() > 160) {
      error.resize(157);
      error.append("...");
    }
    for (char& ch : error) {
      if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
    }
    t.rows.push_back({tr.key, std::string(results::to_string(tr.status)),
                      fmt::format("{}{}", tr.dataset,
                                  tr.synthetic && tr.dataset != "synthetic" ? " (synthetic)" : ""),
                      tr.synthetic ? std::string("n/a (withheld: synthetic data)")
                                   : opt(tr.test_accuracy, 100, 2),
                      opt(tr.training_time_s, 1, 1),
                      opt(tr.wall_time_s, 1, 1), opt(tr.images_per_s, 1, 0), std::to_string(epochs),
                      machine_status(tr), error});
  }
  return t;
}

// Table 10, only when a suite varied the process count: each data-parallel group's throughput
// against the one-process group of the same framework, model, recipe, device, threads, batch.
std::optional<Table> scaling_table(const Study& study) {
  Table t{"table10_scaling",
          "Table 10. Data-parallel scaling (throughput of all processes)",
          {"Framework", "Model", "Recipe", "Device", "Threads per process", "Processes",
           "Throughput (images/s)", "Speed-up", "Efficiency (%)"},
          {},
          {"Speed-up: mean throughput over the one-process run's; efficiency: speed-up / "
           "processes. The global batch grows with the processes (docs/distributed.md)."}, {}};
  bool any_parallel = false;
  for (const auto& g : study.groups) {
    if (g.processes > 1) any_parallel = true;
  }
  if (!any_parallel) return std::nullopt;
  for (const auto& g : study.groups) {
    const GroupSummary* base = nullptr;
    bool family_varies = false;
    for (const auto& o : study.groups) {
      if (o.framework != g.framework || o.model != g.model || o.recipe != g.recipe ||
          o.device != g.device || o.threads != g.threads || o.batch_size != g.batch_size) {
        continue;
      }
      if (o.processes == 1) base = &o;
      if (o.processes != g.processes) family_varies = true;
    }
    if (!family_varies && g.processes == 1) continue;
    std::vector<std::string> row{g.framework, g.model, g.recipe, g.device,
                                 g.threads ? std::to_string(g.threads) : "all",
                                 std::to_string(g.processes)};
    const bool has = g.summaries.count("throughput") > 0;
    row.push_back(has ? mean_or_missing(g, "throughput") : "n/a");
    if (has && base && base->summaries.count("throughput")) {
      const double speedup =
          g.summaries.at("throughput").mean / base->summaries.at("throughput").mean;
      row.push_back(format_number(speedup, 2));
      row.push_back(format_number(100.0 * speedup / g.processes, 1));
    } else {
      row.push_back("n/a (no 1-process run)");
      row.push_back("n/a");
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

// "¹", "²", ..., "¹⁰": the footnote mark of number n.
std::string superscript(std::size_t n) {
  static const char* const kDigits[] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
  const std::string decimal = std::to_string(n);
  std::string out;
  for (char d : decimal) out += kDigits[d - '0'];
  return out;
}

// The short mark and the reason of a cell "n/a (reason)" / "inconclusive (reason)".
std::optional<std::pair<std::string, std::string>> footnoted(const std::string& cell) {
  for (const char* mark : {"n/a", "inconclusive"}) {
    const std::string prefix = std::string(mark) + " (";
    if (cell.size() > prefix.size() + 1 && cell.compare(0, prefix.size(), prefix) == 0 &&
        cell.back() == ')') {
      return std::make_pair(std::string(mark),
                            cell.substr(prefix.size(), cell.size() - prefix.size() - 1));
    }
  }
  return std::nullopt;
}

}  // namespace

Table with_footnotes(const Table& table) {
  Table out = table;
  std::vector<std::string> reasons;
  for (auto& row : out.rows) {
    for (auto& cell : row) {
      const auto parts = footnoted(cell);
      if (!parts) continue;
      auto it = std::find(reasons.begin(), reasons.end(), parts->second);
      if (it == reasons.end()) it = reasons.insert(reasons.end(), parts->second);
      cell = parts->first + superscript(static_cast<std::size_t>(it - reasons.begin()) + 1);
    }
  }
  std::vector<std::string> notes;
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    notes.push_back(fmt::format("{} {}", superscript(i + 1), reasons[i]));
  }
  notes.insert(notes.end(), out.notes.begin(), out.notes.end());
  out.notes = std::move(notes);
  return out;
}

std::string format_number(double value, int decimals) {
  if (std::isnan(value)) return "n/a";
  return fmt::format("{:.{}f}", value, decimals);
}

std::vector<Table> build_tables(const Study& study) {
  std::vector<Table> tables;
  tables.push_back(stats_table(study, "table1_accuracy", "Table 1. Test accuracy (%)",
                               metric("accuracy"), false));
  tables.push_back(stats_table(study, "table2_training_time", "Table 2. Training time (s)",
                               metric("training_time"), true));
  tables.back().notes.push_back(
      "Training time excludes evaluation and data import; the olympic mean (MLPerf) drops the "
      "fastest and slowest of n >= 5 runs.");
  tables.push_back(stats_table(study, "table3_gpu_utilization", "Table 3. GPU utilization (%)",
                               metric("gpu_util"), false));
  tables.push_back(stats_table(study, "table4_throughput", "Table 4. Throughput (images/s)",
                               metric("throughput"), false));
  tables.push_back(stats_table(study, "table4b_mfu",
                               "Table 4b. Model FLOP utilization (% of the measured peak)",
                               metric("mfu"), false));
  tables.back().notes.push_back(
      "Achieved model FLOP/s = throughput × 3 × the forward pass's FLOPs per image (a "
      "multiply-add counts 2); the peak is an fp32 matrix product through the machine's BLAS on "
      "all cores, measured once (cifarbench env). GPU peaks are not measured: n/a there.");

  Table tta{
      "table5_time_to_accuracy",
      "Table 5. Time to target accuracy (s)",
      {"Framework", "Model", "Recipe", "Setup", "Target (%)", "Reached", "Mean (95% CI)", "Median"},
      {},
      {"Training time at the first evaluation that reaches the target; trials that never "
       "reach it are counted but not averaged."}, {}};
  for (const auto& g : study.groups) {
    if (g.synthetic) {
      tta.withheld = kAccuracyWithheld;
      continue;
    }
    auto row = group_columns(g);
    row.push_back(g.target_accuracy ? format_number(*g.target_accuracy * 100, 1) : "n/a");
    row.push_back(fmt::format("{} of {}", g.reached_target, g.completed));
    row.push_back(mean_or_missing(g, "time_to_target"));
    row.push_back(g.summaries.count("time_to_target")
                      ? format_number(g.summaries.at("time_to_target").median, 1)
                      : "n/a");
    tta.rows.push_back(std::move(row));
  }
  tables.push_back(std::move(tta));

  Table memory{"table6_memory_energy",
               "Table 6. Peak memory and energy (mean, 95% CI)",
               {"Framework", "Model", "Recipe", "Setup", "Peak GPU memory (MiB)", "Peak RSS (MiB)",
                "GPU energy (kJ)"},
               {},
               {}, {}};
  for (const auto& g : study.groups) {
    auto row = group_columns(g);
    row.push_back(mean_or_missing(g, "gpu_mem_peak"));
    row.push_back(mean_or_missing(g, "rss_peak"));
    row.push_back(mean_or_missing(g, "energy"));
    memory.rows.push_back(std::move(row));
  }
  tables.push_back(std::move(memory));
  tables.push_back(stats_table(study, "table7_cpu_utilization",
                               "Table 7. CPU utilization (%, 100 = one core)", metric("cpu_util"),
                               false));
  tables.push_back(comparisons_table(study));
  tables.push_back(trials_table(study));
  if (auto scaling = scaling_table(study)) tables.push_back(std::move(*scaling));
  return tables;
}

}  // namespace cb::report
