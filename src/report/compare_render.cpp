// `cifarbench compare`'s output: the verdict first, then each pair's table, then the result.
#include <fmt/format.h>

#include "core/error.h"
#include "report/compare.h"
#include "report/reporter.h"

namespace cb::report {
namespace {

std::string thresholds_text(const Thresholds& t) {
  return fmt::format(
      "thresholds ±{:g} % (times, throughput, memory, energy), ±{:g} points (accuracy), ±{:g} "
      "points (GPU utilization); every test at the 5 % level",
      t.relative * 100, t.accuracy_points, t.utilization_points);
}

// "training time of NEW torch vs BASE torch: resnet20, ..." for every worse row.
std::vector<std::string> worse_rows(const CompareOutcome& o) {
  std::vector<std::string> out;
  for (const auto& pair : o.pairs) {
    for (const auto& row : pair.rows) {
      if (row.verdict == Verdict::worse) {
        out.push_back(fmt::format("{} ({})", metric(row.rule.metric_id).title, pair.heading()));
      }
    }
  }
  return out;
}

std::string result_line(const CompareOutcome& o) {
  const auto worse = worse_rows(o);
  if (worse.empty()) return "Result: no metric is significantly worse beyond its threshold.";
  return fmt::format("Result: {} metric(s) significantly worse beyond the threshold: {}.",
                     worse.size(), fmt::join(worse, "; "));
}

std::string render_console(const CompareOutcome& o) {
  std::string out = fmt::format("cifarbench compare\n  A = {}\n  B = {}\n  {}\n\n", o.a_description,
                                o.b_description, thresholds_text(o.thresholds));
  if (o.synthetic) out += fmt::format("*** {} ***\n\n", kSyntheticBanner);
  out += verdict_section_console(o.pairs);
  for (const auto& pair : o.pairs) out += render_console_table(verdict_table(pair));
  for (const auto& u : o.unpaired) out += fmt::format("not compared: {}\n", u);
  return out + result_line(o) + "\n";
}

std::string render_markdown(const CompareOutcome& o) {
  std::string out = fmt::format("# cifarbench compare\n\n- A = {}\n- B = {}\n- {}\n\n",
                                o.a_description, o.b_description, thresholds_text(o.thresholds));
  if (o.synthetic) out += fmt::format("> **{}**\n\n", kSyntheticBanner);
  out += verdict_section_markdown(o.pairs);
  out += "## Details\n\n";
  for (const auto& pair : o.pairs) out += render_markdown_table(verdict_table(pair));
  if (!o.unpaired.empty()) {
    out += "## Not compared\n\n";
    for (const auto& u : o.unpaired) out += fmt::format("- {}\n", u);
    out += "\n";
  }
  return out + result_line(o) + "\n";
}

std::string render_json(const CompareOutcome& o) {
  nlohmann::ordered_json doc;
  doc["verdict"] = verdict_json(o.pairs);
  doc["worse"] = o.any_worse();
  doc["result"] = result_line(o);
  doc["a"] = o.a_description;
  doc["b"] = o.b_description;
  doc["thresholds"] = {{"relative", o.thresholds.relative},
                       {"accuracy_points", o.thresholds.accuracy_points},
                       {"utilization_points", o.thresholds.utilization_points}};
  doc["alpha"] = kVerdictAlpha;
  doc["synthetic_data"] = o.synthetic;
  doc["banner"] = o.synthetic ? nlohmann::ordered_json(kSyntheticBanner) : nullptr;
  doc["unpaired"] = o.unpaired;
  return doc.dump(2) + "\n";
}
}  // namespace

const std::vector<std::string>& compare_formats() {
  static const std::vector<std::string> formats = {"console", "md", "json"};
  return formats;
}

std::string render_compare(const CompareOutcome& outcome, std::string_view format) {
  if (format == "console") return render_console(outcome);
  if (format == "md") return render_markdown(outcome);
  if (format == "json") return render_json(outcome);
  throw InputError(fmt::format("--format: unknown compare format '{}' (expected one of: {})",
                               format, fmt::join(compare_formats(), ", ")));
}

}  // namespace cb::report
