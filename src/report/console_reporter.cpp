// Console reporter: aligned plain-text tables for a terminal.
#include <fmt/format.h>

#include <algorithm>

#include "report/reporter.h"

namespace cb::report {
namespace {

// Column width in characters, counting UTF-8 code points rather than bytes.
std::size_t display_width(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string pad(const std::string& s, std::size_t width) {
  return s + std::string(width - std::min(width, display_width(s)), ' ');
}

}  // namespace

std::string render_console_table(const Table& t) {
  std::vector<std::size_t> widths(t.header.size(), 0);
  for (std::size_t c = 0; c < t.header.size(); ++c) widths[c] = display_width(t.header[c]);
  for (const auto& row : t.rows) {
    for (std::size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      widths[c] = std::max(widths[c], display_width(row[c]));
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < widths.size(); ++c) {
      out += pad(c < cells.size() ? cells[c] : "", widths[c]);
      if (c + 1 < widths.size()) out += "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
    return out;
  };
  std::string out = fmt::format("{}\n{}", t.title, line(t.header));
  std::size_t total = 0;
  for (auto w : widths) total += w + 2;
  out += std::string(total > 2 ? total - 2 : 0, '-') + "\n";
  if (t.rows.empty()) out += "(no trials)\n";
  for (const auto& row : t.rows) out += line(row);
  for (const auto& note : t.notes) out += fmt::format("  {}\n", note);
  out += '\n';
  return out;
}

namespace {

class ConsoleReporter : public Reporter {
 public:
  std::string_view format() const override { return "console"; }
  bool shows_figures() const override { return false; }
  std::vector<ReportFile> render(const ReportContent& c) const override {
    std::string out;
    if (c.study.synthetic) out += fmt::format("*** {} ***\n\n", kSyntheticBanner);
    out += fmt::format("cifarbench report of {}: {} trial(s)", c.study.database,
                       c.study.trials.size());
    std::string counts;
    for (const auto& [status, n] : c.study.status_counts) {
      counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", n, status);
    }
    out += counts.empty() ? "\n\n" : fmt::format(" ({})\n\n", counts);
    out += verdict_section_console(c.study.verdicts);
    if (!c.reference_lines.empty()) {
      out += "Reference curves\n----------------\n";
      for (const auto& line : c.reference_lines) out += line + "\n";
      out += "\n";
    }
    for (const auto& t : c.tables) out += render_console_table(t);
    if (c.figures_requested && !c.figures.skipped.empty()) {
      out += fmt::format("{}\n", c.figures.skipped);
    }
    for (const auto& note : c.figures.notes) out += fmt::format("figure note: {}\n", note);
    if (c.study.synthetic) out += fmt::format("*** {} ***\n", kSyntheticBanner);
    return {{"report.txt", out}};
  }
};

}  // namespace

std::unique_ptr<Reporter> make_console_reporter() { return std::make_unique<ConsoleReporter>(); }

}  // namespace cb::report
