// Producing a report in one format, with its figures, into an output directory.
#include "report/report.h"

#include <fmt/format.h>

#include <fstream>
#include <system_error>

#include "core/atomic_file.h"
#include "core/error.h"
#include "report/reporter.h"

namespace cb::report {
namespace fs = std::filesystem;

ReportOutput produce_report(const results::ResultsSnapshot& snapshot,
                            const ReportRequest& request) {
  const auto reporter = make_reporter(request.format);
  const Study study = build_study(snapshot);
  const std::vector<Table> tables = build_tables(study);
  ReportOutput output;
  if (request.format != "console" && !request.out_dir) {
    throw InputError(fmt::format("--out: format '{}' writes files and needs an output directory",
                                 request.format));
  }
  if (request.out_dir) {
    std::error_code ec;
    fs::create_directories(*request.out_dir, ec);
    if (ec || !fs::is_directory(*request.out_dir)) {
      throw InputError(fmt::format("--out {}: cannot create the report directory: {}",
                                   request.out_dir->string(),
                                   ec ? ec.message() : "exists and is not a directory"));
    }
  }
  const bool figures_requested = reporter->shows_figures() && request.out_dir.has_value();
  if (figures_requested) {
    output.figures = render_figures(study, *request.out_dir / "figures");
    for (const auto& f : output.figures.figures) {
      if (!f.svg.empty()) output.files.push_back(f.svg);
      if (!f.png.empty()) output.files.push_back(f.png);
    }
  }
  const ReportContent content{study,           tables, output.figures, figures_requested,
                              request.reference_lines, request.verdict_last};
  for (const auto& file : reporter->render(content)) {
    if (request.format == "console") output.console_text = file.text;
    if (!request.out_dir) continue;
    const fs::path path = *request.out_dir / file.name;
    write_file_atomically(path, file.text);  // a reader never sees half a report
    output.files.push_back(path);
  }
  return output;
}

}  // namespace cb::report
