// The reporter registry: format name to reporter.
#include "report/reporter.h"

#include <fmt/format.h>

#include "core/error.h"

namespace cb::report {

const std::vector<std::string>& report_formats() {
  static const std::vector<std::string> formats = {"console", "md", "csv", "json", "html"};
  return formats;
}

std::unique_ptr<Reporter> make_reporter(std::string_view format) {
  if (format == "console") return make_console_reporter();
  if (format == "md") return make_markdown_reporter();
  if (format == "csv") return make_csv_reporter();
  if (format == "json") return make_json_reporter();
  if (format == "html") return make_html_reporter();
  throw InputError(fmt::format("--format: unknown report format '{}' (expected one of: {})", format,
                               fmt::join(report_formats(), ", ")));
}

}  // namespace cb::report
