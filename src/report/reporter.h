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

// The formats `--format` accepts, in help order.
const std::vector<std::string>& report_formats();
// The reporter for a format name; InputError naming the valid ones otherwise.
std::unique_ptr<Reporter> make_reporter(std::string_view format);

}  // namespace cb::report
