// Markdown reporter: pipe tables and figure links, for READMEs and papers' supplements.
#include <fmt/format.h>

#include "report/reporter.h"

namespace cb::report {
namespace {

std::string cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string render_markdown_table(const Table& table) {
  const Table t = with_footnotes(table);
  if (t.rows.empty() && !t.withheld.empty()) {
    return fmt::format("## {}\n\n_{}_\n\n", t.title, cell(t.withheld));
  }
  std::string out = fmt::format("## {}\n\n|", t.title);
  for (const auto& h : t.header) out += fmt::format(" {} |", cell(h));
  out += "\n|";
  for (std::size_t i = 0; i < t.header.size(); ++i) out += " --- |";
  out += "\n";
  for (const auto& row : t.rows) {
    out += "|";
    for (const auto& v : row) out += fmt::format(" {} |", cell(v));
    out += "\n";
  }
  out += "\n";
  if (!t.withheld.empty()) out += fmt::format("_{}_\n\n", cell(t.withheld));
  for (const auto& note : t.notes) out += fmt::format("_{}_\n\n", note);
  return out;
}

namespace {

class MarkdownReporter : public Reporter {
 public:
  std::string_view format() const override { return "md"; }
  bool shows_figures() const override { return true; }
  std::vector<ReportFile> render(const ReportContent& c) const override {
    std::string out = "# cifarbench report\n\n";
    if (c.study.synthetic) out += fmt::format("> **{}**\n\n", kSyntheticBanner);
    out += fmt::format("Results: `{}`, {} trial(s).\n\n", c.study.database, c.study.trials.size());
    out += verdict_section_markdown(c.study.verdicts);
    if (!c.reference_lines.empty()) {
      out += "## Reference curves\n\n```\n";
      for (const auto& line : c.reference_lines) out += line + "\n";
      out += "```\n\n";
    }
    for (const auto& t : c.tables) out += render_markdown_table(t);
    out += "## Figures\n\n";
    if (!c.figures.skipped.empty()) out += fmt::format("_{}._\n\n", c.figures.skipped);
    for (const auto& f : c.figures.figures) {
      const auto& image = f.svg.empty() ? f.png : f.svg;
      out += fmt::format("![{}](figures/{})\n\n", f.title, image.filename().string());
    }
    for (const auto& note : c.figures.notes) out += fmt::format("- {}\n", note);
    return {{"report.md", out}};
  }
};

}  // namespace

std::unique_ptr<Reporter> make_markdown_reporter() { return std::make_unique<MarkdownReporter>(); }

}  // namespace cb::report
