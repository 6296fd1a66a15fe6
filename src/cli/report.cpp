// `cifarbench report RESULTS`: tables, statistics and figures from a results directory.
#include <fmt/format.h>

#include "cli/command.h"
#include "report/reference_section.h"
#include "report/report.h"
#include "report/reporter.h"
#include "results/reference_check.h"
#include "results/reference_file.h"
#include "results/store.h"

namespace cb::cli {
namespace {

struct ReportArgs {
  std::string results;
  std::string format = "console";
  std::string out;
  std::string reference;  // --reference FILE|NAME: the reference-curve section
};

const CommandRegistration report_registration{
    "report", 30, [](CLI::App& app) {
      auto args = std::make_shared<ReportArgs>();
      auto* cmd = app.add_subcommand(
          "report",
          "Tables (accuracy, training time, GPU utilization, throughput, time to accuracy, "
          "memory, energy, framework comparisons) and figures from a results directory");
      cmd->add_option("RESULTS", args->results, "results directory (or its results.sqlite)")
          ->required();
      cmd->add_option("--format", args->format,
                      fmt::format("output format: {}", fmt::join(report::report_formats(), ", ")))
          ->capture_default_str();
      cmd->add_option("--out", args->out,
                      "directory for report files and figures (default: RESULTS/report; the "
                      "console format prints to standard output unless --out is given)");
      cmd->add_option("--reference", args->reference,
                      "also check the results against a reference curve: a file, or a name in "
                      "$CIFARBENCH_REFERENCES (docs/references.md)");
      cmd->callback([args] {
        report::make_reporter(args->format);  // a bad --format fails before any file is opened
        std::vector<results::ReferenceCurve> references;
        if (!args->reference.empty()) {
          references = results::load_references(args->reference, results::reference_directory(""));
        }
        const auto store = results::ResultsStore::open_for_reading(args->results);
        const auto snapshot = store.load();
        report::ReportRequest request;
        request.format = args->format;
        if (!args->out.empty()) {
          request.out_dir = args->out;
        } else if (args->format != "console") {
          request.out_dir = store.database_path().parent_path() / "report";
        }
        if (!references.empty()) {  // placed after the verdict in every format
          const results::ReferenceRule rule;
          request.reference_lines =
              report::reference_section_lines(results::check_against_references(snapshot, references, rule), rule);
        }
        const auto output = report::produce_report(snapshot, request);
        if (args->format == "console") fmt::print("{}", output.console_text);
        if (!output.figures.skipped.empty()) fmt::print(stderr, "{}\n", output.figures.skipped);
        for (const auto& note : output.figures.notes) fmt::print(stderr, "figure note: {}\n", note);
        for (const auto& file : output.files) {
          if (file.extension() == ".svg" || file.extension() == ".png") continue;
          fmt::print("wrote {}\n", file.string());
        }
        if (!output.figures.figures.empty()) {
          fmt::print("wrote {} figure(s) (SVG and PNG) in {}\n", output.figures.figures.size(),
                     (*request.out_dir / "figures").string());
        }
      });
    }};

}  // namespace
}  // namespace cb::cli
