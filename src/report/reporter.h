// One reporter per output format behind one interface (Google Benchmark's reporters are the
// model): each turns the same study, tables and figures into the files of its format.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "report/figures.h"
#include "report/study.h"
#include "report/tables.h"

namespace cb::report {

// What every reporter formats.
struct ReportContent {
  const Study& study;
  const std::vector<Table>& tables;
  const FigureSet& figures;
  bool figures_requested = false;  // false: no figures were asked for (console, csv, json)
  const std::vector<std::string>& reference_lines;  // the reference-curve section, or empty
  bool verdict_last = false;  // console: the verdict after the tables (ReportRequest)
};

// A rendered file: a name relative to the output directory, and its text.
struct ReportFile {
  std::string name;
  std::string text;
};

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual std::string_view format() const = 0;
  // Whether this format shows figures (so gnuplot should draw them first).
  virtual bool shows_figures() const = 0;
  virtual std::vector<ReportFile> render(const ReportContent& content) const = 0;
};

std::unique_ptr<Reporter> make_console_reporter();
std::unique_ptr<Reporter> make_markdown_reporter();
std::unique_ptr<Reporter> make_csv_reporter();
std::unique_ptr<Reporter> make_json_reporter();
std::unique_ptr<Reporter> make_html_reporter();

// The console's width (its tables and paragraphs keep within it where they can), and a text
// broken at spaces into lines of at most `width` characters (a longer word stays whole).
inline constexpr std::size_t kConsoleWidth = 120;
std::vector<std::string> wrap_text(const std::string& text, std::size_t width);

// A table as the console and Markdown reporters render it (`compare` renders its own with them).
std::string render_console_table(const Table& table);
std::string render_markdown_table(const Table& table);

// The verdict section every format opens with (`compare` prints the same): per compared pair, a
// heading and one sentence per metric (report/verdict.h).
std::string verdict_section_console(const std::vector<PairVerdict>& pairs);
std::string verdict_section_markdown(const std::vector<PairVerdict>& pairs);
nlohmann::json verdict_json(const std::vector<PairVerdict>& pairs);
// The rows behind a pair's sentences, one per metric.
Table verdict_table(const PairVerdict& pair);
// The line the verdict section shows when nothing was compared.
inline constexpr const char* kNothingCompared =
    "No two frameworks trained the same model with the same recipe and setup, so there is no "
    "verdict; the tables below describe each group.";

// The formats `--format` accepts, in help order.
const std::vector<std::string>& report_formats();
// The reporter for a format name; InputError naming the valid ones otherwise.
std::unique_ptr<Reporter> make_reporter(std::string_view format);

}  // namespace cb::report
