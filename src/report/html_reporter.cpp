// HTML reporter: one self-contained page (figures inlined as base64 SVG or PNG, no external
// resources) with the tables, the figures, the environment and every trial's details.
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "report/reporter.h"

namespace cb::report {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string base64(const std::string& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string table_html(const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows,
                       const std::string& css_class = "") {
  // Wide tables scroll inside their own box rather than stretch the page (phones, laptops).
  std::string out = css_class.empty()
                        ? "<div class=\"scroll\">\n<table>\n<thead><tr>"
                        : fmt::format("<div class=\"scroll\">\n<table class=\"{}\">\n<thead><tr>",
                                      css_class);
  for (const auto& h : header) out += fmt::format("<th>{}</th>", escape(h));
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& row : rows) {
    out += "<tr>";
    for (const auto& v : row) {
      const bool missing = v.rfind("n/a", 0) == 0 || v.rfind("not tested", 0) == 0;
      out += missing ? fmt::format("<td class=\"na\">{}</td>", escape(v))
                     : fmt::format("<td>{}</td>", escape(v));
    }
    out += "</tr>\n";
  }
  out += "</tbody>\n</table>\n</div>\n";
  return out;
}

// Flattens the environment record into "section.key: value" rows.
void flatten(const nlohmann::json& j, const std::string& prefix,
             std::vector<std::vector<std::string>>& rows) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, rows);
  } else if (j.is_array()) {
    bool scalars = true;
    for (const auto& v : j) scalars &= !v.is_structured();
    if (scalars) {
      std::string joined;
      for (const auto& v : j) {
        if (!joined.empty()) joined += ", ";
        joined += v.is_string() ? v.get<std::string>() : v.dump();
      }
      rows.push_back({prefix, joined});
    } else {
      for (std::size_t i = 0; i < j.size(); ++i) {
        flatten(j[i], fmt::format("{}[{}]", prefix, i), rows);
      }
    }
  } else {
    rows.push_back({prefix, j.is_string() ? j.get<std::string>() : j.dump()});
  }
}

constexpr const char* kStyle = R"css(
body { font-family: sans-serif; margin: 2em auto; padding: 0 1em; max-width: 1200px;
       color: #222; overflow-wrap: anywhere; }
h1 { margin-bottom: 0.2em; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 0.5em 0 0.3em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left;
         overflow-wrap: normal; white-space: nowrap; }
th { background: #f0f0f0; }
td.na { color: #777; font-style: italic; }
p.note { font-size: 0.85em; color: #555; margin: 0.2em 0 1.2em; }
.banner { background: #fff3cd; border: 2px solid #d39e00; padding: 0.8em; font-weight: bold; }
.withheld { font-style: italic; color: #555; }
.skipped { background: #eef; border: 1px solid #99c; padding: 0.6em; }
figure { margin: 1em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
details { margin: 0.4em 0; }
pre { background: #f7f7f7; padding: 0.5em; overflow-x: auto; font-size: 0.85em; }
)css";

// The page's head, title, synthetic-data banner, summary line and section links.
std::string page_top(const Study& study) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>cifarbench report</title>\n<style>{}</style>\n</head>\n<body>\n"
      "<h1>cifarbench report</h1>\n",
      kStyle);
  if (study.synthetic) {
    out += fmt::format("<div class=\"banner\" id=\"synthetic-banner\">{}</div>\n",
                       escape(kSyntheticBanner));
  }
  std::string counts;
  for (const auto& [status, n] : study.status_counts) {
    counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", n, status);
  }
  out +=
      fmt::format("<p>Results: <code>{}</code>; {} trial(s){}.</p>\n", escape(study.database),
                  study.trials.size(), counts.empty() ? "" : fmt::format(" ({})", escape(counts)));
  out +=
      "<p><a href=\"#verdict\">Verdict</a> · <a href=\"#tables\">Tables</a> · "
      "<a href=\"#figures\">Figures</a> · "
      "<a href=\"#environment\">Environment</a> · <a href=\"#trials\">Trials</a></p>\n";
  return out;
}

// The answer first: per compared pair, one sentence per metric.
std::string verdict_section(const std::vector<PairVerdict>& pairs) {
  std::string out = "<section id=\"verdict\">\n<h2>Verdict</h2>\n";
  if (pairs.empty()) out += fmt::format("<p>{}</p>\n", escape(kNothingCompared));
  for (const auto& pair : pairs) {
    out += fmt::format("<h3>{}</h3>\n<ul>\n", escape(pair.heading()));
    for (const auto& s : verdict_sentences(pair)) out += fmt::format("<li>{}</li>\n", escape(s));
    out += "</ul>\n";
  }
  return out + "</section>\n";
}

std::string tables_section(const std::vector<Table>& tables) {
  std::string out = "<section id=\"tables\">\n<h2>Tables</h2>\n";
  for (const auto& table : tables) {
    const Table t = with_footnotes(table);
    out += fmt::format("<h3 id=\"{}\">{}</h3>\n", t.id, escape(t.title));
    if (!t.withheld.empty()) {
      out += fmt::format("<p class=\"withheld\">{}</p>\n", escape(t.withheld));
    }
    if (!t.rows.empty() || t.withheld.empty()) out += table_html(t.header, t.rows);
    for (const auto& note : t.notes) out += fmt::format("<p class=\"note\">{}</p>\n", escape(note));
  }
  return out + "</section>\n";
}

// The figures, inlined as base64 data URLs, or why they were skipped.
std::string figures_section(const FigureSet& figures) {
  std::string out = "<section id=\"figures\">\n<h2>Figures</h2>\n";
  if (!figures.skipped.empty()) {
    out += fmt::format(
        "<p class=\"skipped\" id=\"figures-skipped\">{}; the tables above are "
        "complete.</p>\n",
        escape(figures.skipped));
  }
  for (const auto& f : figures.figures) {
    const bool svg = !f.svg.empty();
    const std::string data = base64(read_file(svg ? f.svg : f.png));
    out += fmt::format(
        "<figure id=\"{}\">\n<img alt=\"{}\" src=\"data:{};base64,{}\">\n"
        "<figcaption>{}</figcaption>\n</figure>\n",
        f.id, escape(f.title), svg ? "image/svg+xml" : "image/png", data, escape(f.title));
  }
  for (const auto& note : figures.notes) {
    out += fmt::format("<p class=\"note\">{}</p>\n", escape(note));
  }
  return out + "</section>\n";
}

std::string environment_section(const Study& study) {
  std::string out = "<section id=\"environment\">\n<h2>Environment</h2>\n";
  if (study.environment.is_null()) {
    out += "<p>No environment record was stored with the trials.</p>\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    flatten(study.environment, "", rows);
    out += table_html({"Key", "Value"}, rows, "environment");
  }
  return out + "</section>\n";
}

// One trial's fields and final metrics, as a two-column table.
std::string trial_fields_table(const results::TrialRecord& t) {
  auto opt = [](const std::optional<double>& v) {
    return v ? fmt::format("{:.4g}", *v) : std::string("n/a");
  };
  return table_html(
      {"Field", "Value"},
      {{"framework", t.framework},
       {"model", t.model},
       {"recipe", t.recipe},
       {"seed", std::to_string(t.seed)},
       {"device", t.device},
       {"threads", std::to_string(t.threads)},
       {"batch size", std::to_string(t.batch_size)},
       {"processes", std::to_string(t.processes)},
       {"dataset", fmt::format("{}{}", t.dataset,
                               t.synthetic && t.dataset != "synthetic" ? " (synthetic)" : "")},
       {"started", t.started},
       {"ended", t.ended},
       {"test accuracy", opt(t.test_accuracy)},
       {"training time (s)", opt(t.training_time_s)},
       {"wall time (s)", opt(t.wall_time_s)},
       {"time to target (s)", opt(t.time_to_target_s)},
       {"images/s", opt(t.images_per_s)},
       {"GPU", t.gpu_unavailable_reason.empty() ? opt(t.gpu_util_mean_pct) + " % mean"
                                                : "n/a (" + t.gpu_unavailable_reason + ")"}});
}

std::string epochs_table(const std::vector<results::EpochRecord>& epochs) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : epochs) {
    rows.push_back({std::to_string(e.epoch), fmt::format("{:.4f}", e.train_loss),
                    fmt::format("{:.2f}", e.train_accuracy * 100),
                    e.test_accuracy ? fmt::format("{:.2f}", *e.test_accuracy * 100)
                                    : std::string("n/a (not evaluated)"),
                    fmt::format("{:.2f}", e.epoch_time_s), fmt::format("{:.2f}", e.training_time_s),
                    fmt::format("{:.0f}", e.images_per_s)});
  }
  return table_html({"Epoch", "Train loss", "Train acc. (%)", "Test acc. (%)", "Epoch time (s)",
                     "Training time (s)", "Images/s"},
                    rows, "epochs");
}

// A collapsible block per trial: its fields, error, epochs and configuration.
std::string trials_section(const Study& study) {
  std::string out = "<section id=\"trials\">\n<h2>Per-trial details</h2>\n";
  for (const auto& t : study.trials) {
    out += fmt::format("<details>\n<summary>{} — {}</summary>\n", escape(t.key),
                       results::to_string(t.status));
    out += trial_fields_table(t);
    if (!t.error.empty()) out += fmt::format("<pre class=\"error\">{}</pre>\n", escape(t.error));
    if (const auto it = study.epochs.find(t.id); it != study.epochs.end()) {
      out += epochs_table(it->second);
    }
    out += fmt::format("<pre class=\"config\">{}</pre>\n</details>\n", escape(t.config.dump(2)));
  }
  return out + "</section>\n";
}

class HtmlReporter : public Reporter {
 public:
  std::string_view format() const override { return "html"; }
  bool shows_figures() const override { return true; }
  std::vector<ReportFile> render(const ReportContent& c) const override {
    const Study& study = c.study;
    std::string out = page_top(study);
    out += verdict_section(study.verdicts);
    if (!c.reference_lines.empty()) {
      out += "<section id=\"reference\">\n<h2>Reference curves</h2>\n<pre>";
      for (const auto& line : c.reference_lines) out += escape(line) + "\n";
      out += "</pre>\n</section>\n";
    }
    out += tables_section(c.tables);
    out += figures_section(c.figures);
    out += environment_section(study);
    out += trials_section(study);
    if (study.synthetic) {
      out += fmt::format("<div class=\"banner\">{}</div>\n", escape(kSyntheticBanner));
    }
    out += "</body>\n</html>\n";
    return {{"report.html", out}};
  }
};

}  // namespace

std::unique_ptr<Reporter> make_html_reporter() { return std::make_unique<HtmlReporter>(); }

}  // namespace cb::report
