// Producing a report: results snapshot -> study -> tables (+ figures) -> the chosen format.
// `cifarbench report` and the suite runner's closing summary both call this.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "report/figures.h"
#include "results/records.h"

namespace cb::report {

struct ReportRequest {
  std::string format = "console";                // console, md, csv, json or html
  std::optional<std::filesystem::path> out_dir;  // where files go; console: none if absent
  // `report --reference`: the reference-curve check's lines (reference_section.h), shown after
  // the verdict in every format; empty: no such section.
  std::vector<std::string> reference_lines;
  // Console: the verdict (and reference) section after the tables rather than before them, so
  // that a long `run` ends with its answer on the screen.
  bool verdict_last = false;
};

struct ReportOutput {
  std::string console_text;                  // the rendered console report (console only)
  std::vector<std::filesystem::path> files;  // every file written, figures included
  FigureSet figures;
};

// Renders `snapshot` in the requested format. Formats other than console need an out_dir;
// md and html first draw the figures into out_dir/figures. Throws InputError for an unknown
// format or an unwritable out_dir.
ReportOutput produce_report(const results::ResultsSnapshot& snapshot, const ReportRequest& request);

}  // namespace cb::report
