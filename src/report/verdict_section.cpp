// The verdict section that opens every report and `compare`'s output.
#include <fmt/format.h>

#include <cmath>

#include "report/reporter.h"

namespace cb::report {
namespace {
using nlohmann::json;

json optional_number(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? json(*v) : json(nullptr);
}

json row_json(const MetricVerdict& v) {
  json row = {{"metric", v.rule.metric_id},
              {"kind", v.rule.ratio ? "ratio" : "difference"},
              {"n_a", v.n_a},
              {"n_b", v.n_b},
              {"estimate", optional_number(v.estimate)},
              {"ci", v.ci ? json::array({v.ci->low, v.ci->high}) : json(nullptr)},
              {"ci_level", v.ci_confidence},
              {"test", v.test},
              {"p_value", optional_number(v.p_value)},
              {"threshold", v.rule.threshold},
              {"tost_p", optional_number(v.tost_p)},
              {"verdict", std::string(to_string(v.verdict))},
              {"reason", v.reason},
              {"seeds_needed", v.seeds_needed ? json(*v.seeds_needed) : json(nullptr)}};
  return row;
}
}  // namespace

std::string verdict_section_console(const std::vector<PairVerdict>& pairs) {
  std::string out = "Verdict\n-------\n";
  if (pairs.empty()) out += fmt::format("{}\n", kNothingCompared);
  for (const auto& pair : pairs) {
    out += fmt::format("{}\n", pair.heading());
    for (const auto& s : verdict_sentences(pair)) {
      const auto lines = wrap_text(s, kConsoleWidth - 4);
      for (std::size_t i = 0; i < lines.size(); ++i) {
        out += fmt::format("{}{}\n", i == 0 ? "  - " : "    ", lines[i]);
      }
    }
  }
  return out + "\n";
}

std::string verdict_section_markdown(const std::vector<PairVerdict>& pairs) {
  std::string out = "## Verdict\n\n";
  if (pairs.empty()) out += fmt::format("{}\n\n", kNothingCompared);
  for (const auto& pair : pairs) {
    out += fmt::format("**{}**\n\n", pair.heading());
    for (const auto& s : verdict_sentences(pair)) out += fmt::format("- {}\n", s);
    out += "\n";
  }
  return out;
}

json verdict_json(const std::vector<PairVerdict>& pairs) {
  json out = json::array();
  for (const auto& pair : pairs) {
    json rows = json::array();
    for (const auto& r : pair.rows) rows.push_back(row_json(r));
    out.push_back({{"a", pair.a},
                   {"b", pair.b},
                   {"model", pair.model},
                   {"recipe", pair.recipe},
                   {"setup_a", pair.setup_a},
                   {"setup_b", pair.setup_b},
                   {"synthetic", pair.synthetic},
                   {"heading", pair.heading()},
                   {"sentences", verdict_sentences(pair)},
                   {"caveats", pair.caveats},
                   {"worse", pair.any_worse()},
                   {"metrics", rows}});
  }
  return out;
}

Table verdict_table(const PairVerdict& pair) {
  Table t{"verdict", pair.heading(), verdict_table_header(), {}, {}, {}};
  for (const auto& row : pair.rows) t.rows.push_back(verdict_table_cells(row));
  return t;
}

}  // namespace cb::report
