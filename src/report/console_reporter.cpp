// Console reporter: aligned plain-text tables for a terminal.
#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

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

// The words of a cell (split at spaces) and the width of its longest one.
std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t space = s.find(' ', start);
    const std::size_t end = space == std::string::npos ? s.size() : space;
    if (end > start) out.push_back(s.substr(start, end - start));
    if (space == std::string::npos) break;
    start = space + 1;
  }
  return out;
}

// Columns whose value is the same in every row (of two or more) leave the table for one line
// under its title ("Model: simple-cnn · Setup: cpu, 2 threads, fp32").
std::string lift_constant_columns(Table& t) {
  if (t.rows.size() < 2) return "";
  std::vector<std::string> lifted;
  for (std::size_t c = t.header.size(); c-- > 0;) {
    const std::string& first = c < t.rows[0].size() ? t.rows[0][c] : "";
    bool same = !first.empty();
    for (const auto& row : t.rows) same = same && c < row.size() && row[c] == first;
    if (!same || t.header.size() <= 2) continue;
    lifted.insert(lifted.begin(), fmt::format("{}: {}", t.header[c], first));
    t.header.erase(t.header.begin() + static_cast<std::ptrdiff_t>(c));
    for (auto& row : t.rows) row.erase(row.begin() + static_cast<std::ptrdiff_t>(c));
  }
  std::string line;
  for (const auto& part : lifted) line += (line.empty() ? "" : " · ") + part;
  return line;
}

std::size_t total_width(const std::vector<std::size_t>& widths) {
  std::size_t total = 0;
  for (auto w : widths) total += w + 2;
  return total > 2 ? total - 2 : 0;
}

// Natural column widths, then narrowed until the table fits `limit` characters, if it can:
// first headers wider than their cells are wrapped, then the widest columns' cells (never
// below a column's longest word).
std::vector<std::size_t> column_widths(const Table& t, std::size_t limit) {
  const std::size_t n = t.header.size();
  std::vector<std::size_t> widths(n, 0), cells(n, 0), minimum(n, 0);
  for (std::size_t c = 0; c < n; ++c) {
    widths[c] = display_width(t.header[c]);
    for (const auto& w : words(t.header[c])) minimum[c] = std::max(minimum[c], display_width(w));
  }
  for (const auto& row : t.rows) {
    for (std::size_t c = 0; c < row.size() && c < n; ++c) {
      cells[c] = std::max(cells[c], display_width(row[c]));
      widths[c] = std::max(widths[c], cells[c]);
      for (const auto& w : words(row[c])) minimum[c] = std::max(minimum[c], display_width(w));
    }
  }
  for (const bool headers_only : {true, false}) {
    while (total_width(widths) > limit) {
      std::size_t widest = n;
      for (std::size_t c = 0; c < n; ++c) {
        // A header wraps to at most about two lines before cells are wrapped.
        const std::size_t floor =
            headers_only
                ? std::max({cells[c], minimum[c], (display_width(t.header[c]) + 1) / 2})
                : minimum[c];
        if (widths[c] > floor && (widest == n || widths[c] > widths[widest])) widest = c;
      }
      if (widest == n) break;
      --widths[widest];
    }
  }
  return widths;
}

}  // namespace

std::vector<std::string> wrap_text(const std::string& s, std::size_t width) {
  if (display_width(s) <= width) return {s};
  std::vector<std::string> lines{""};
  for (const auto& word : words(s)) {
    if (!lines.back().empty() && display_width(lines.back()) + 1 + display_width(word) > width) {
      lines.emplace_back();
    }
    if (!lines.back().empty()) lines.back() += ' ';
    lines.back() += word;
  }
  return lines;
}

std::string render_console_table(const Table& table) {
  Table t = with_footnotes(table);
  std::string lifted;
  if (total_width(column_widths(t, SIZE_MAX)) > kConsoleWidth) lifted = lift_constant_columns(t);
  const std::vector<std::size_t> widths = column_widths(t, kConsoleWidth);
  auto lines = [&](const std::vector<std::string>& cells) {
    std::vector<std::vector<std::string>> wrapped(widths.size());
    std::size_t height = 1;
    for (std::size_t c = 0; c < widths.size(); ++c) {
      wrapped[c] = wrap_text(c < cells.size() ? cells[c] : "", widths[c]);
      height = std::max(height, wrapped[c].size());
    }
    std::string out;
    for (std::size_t i = 0; i < height; ++i) {
      std::string line;
      for (std::size_t c = 0; c < widths.size(); ++c) {
        line += pad(i < wrapped[c].size() ? wrapped[c][i] : "", widths[c]);
        if (c + 1 < widths.size()) line += "  ";
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + '\n';
    }
    return out;
  };
  std::string out = t.title + "\n";
  if (t.rows.empty() && !t.withheld.empty()) {
    for (const auto& line : wrap_text(t.withheld, kConsoleWidth)) out += line + "\n";
    return out + "\n";
  }
  if (!lifted.empty()) {
    for (const auto& line : wrap_text(fmt::format("({})", lifted), kConsoleWidth)) {
      out += line + "\n";
    }
  }
  out += lines(t.header) + std::string(total_width(widths), '-') + "\n";
  if (t.rows.empty()) out += "(no trials)\n";
  for (const auto& row : t.rows) out += lines(row);
  std::vector<std::string> notes = t.notes;
  if (!t.withheld.empty()) notes.insert(notes.begin(), t.withheld);
  for (const auto& note : notes) {
    for (const auto& line : wrap_text(note, kConsoleWidth - 2)) out += fmt::format("  {}\n", line);
  }
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
    const std::string banner = fmt::format("*** {} ***", kSyntheticBanner);
    if (c.study.synthetic) {
      for (const auto& line : wrap_text(banner, kConsoleWidth)) out += line + "\n";
      out += "\n";
    }
    out += fmt::format("cifarbench report of {}: {} trial(s)", c.study.database,
                       c.study.trials.size());
    std::string counts;
    for (const auto& [status, n] : c.study.status_counts) {
      counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", n, status);
    }
    out += counts.empty() ? "\n\n" : fmt::format(" ({})\n\n", counts);
    std::string answer = verdict_section_console(c.study.verdicts);
    if (!c.reference_lines.empty()) {
      answer += "Reference curves\n----------------\n";
      for (const auto& line : c.reference_lines) answer += line + "\n";
      answer += "\n";
    }
    if (!c.verdict_last) out += answer;
    for (const auto& t : c.tables) out += render_console_table(t);
    if (c.verdict_last) out += answer;
    if (c.figures_requested && !c.figures.skipped.empty()) {
      out += fmt::format("{}\n", c.figures.skipped);
    }
    for (const auto& note : c.figures.notes) out += fmt::format("figure note: {}\n", note);
    if (c.study.synthetic) {
      for (const auto& line : wrap_text(banner, kConsoleWidth)) out += line + "\n";
    }
    return {{"report.txt", out}};
  }
};

}  // namespace

std::unique_ptr<Reporter> make_console_reporter() { return std::make_unique<ConsoleReporter>(); }

}  // namespace cb::report
