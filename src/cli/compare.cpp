// `cifarbench compare BASE NEW` or `cifarbench compare RESULTS --a K=V --b K=V`: every metric's
// ratio or difference with its interval, test, threshold, equivalence and verdict; exit status 1
// when a metric is significantly worse beyond its threshold, so that a CI job can gate on it.
#include <fmt/format.h>

#include <algorithm>

#include "cli/command.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "report/compare.h"
#include "results/store.h"

namespace cb::cli {
namespace {

struct CompareArgs {
  std::vector<std::string> results;
  std::vector<std::string> a, b;
  std::string format = "console";
  std::string out;
  report::Thresholds thresholds;
  double relative_pct = 5.0;
};

report::CompareOutcome run_compare(const CompareArgs& args) {
  report::Thresholds thresholds = args.thresholds;
  thresholds.relative = args.relative_pct / 100.0;
  const bool selections = !args.a.empty() || !args.b.empty();
  if (selections) {
    if (args.results.size() != 1 || args.a.empty() || args.b.empty()) {
      throw InputError(
          "compare: --a and --b go together, with one results directory (compare RESULTS --a "
          "framework=torch --b framework=dlib)");
    }
    const auto a = report::parse_selector(args.a, "--a");
    const auto b = report::parse_selector(args.b, "--b");
    const auto snapshot = results::ResultsStore::open_for_reading(args.results[0]).load();
    return report::compare_selections(snapshot, a, b, thresholds);
  }
  if (args.results.size() != 2) {
    throw InputError(
        "compare: expected two results directories (compare BASE NEW), or one with --a and --b");
  }
  const auto base = results::ResultsStore::open_for_reading(args.results[0]).load();
  const auto next = results::ResultsStore::open_for_reading(args.results[1]).load();
  return report::compare_results(base, next, thresholds);
}

void add_options(CLI::App* cmd, CompareArgs& args) {
  cmd->add_option("RESULTS", args.results,
                  "BASE and NEW results directories, or one results directory with --a and --b")
      ->required()
      ->expected(1, 2);
  cmd->add_option("--a", args.a,
                  "trials of group A: KEY=VALUE (repeatable; keys: framework, "
                  "model, recipe, device, threads, batch_size, processes, dataset)");
  cmd->add_option("--b", args.b, "trials of group B, the baseline: KEY=VALUE (repeatable)");
  cmd->add_option("--format", args.format,
                  fmt::format("output format: {}", fmt::join(report::compare_formats(), ", ")))
      ->capture_default_str();
  cmd->add_option("--out", args.out, "write the output to this file instead of standard output");
  cmd->add_option("--time-threshold", args.relative_pct,
                  "practical threshold in % for times, throughputs, memory and energy")
      ->check(finite_in(0.01, 1000))
      ->capture_default_str();
  cmd->add_option("--accuracy-threshold", args.thresholds.accuracy_points,
                  "practical threshold for test accuracy, in percentage points")
      ->check(finite_in(0.001, 100))
      ->capture_default_str();
  cmd->add_option("--util-threshold", args.thresholds.utilization_points,
                  "practical threshold for GPU utilization, in percentage points")
      ->check(finite_in(0.001, 100))
      ->capture_default_str();
}

const CommandRegistration compare_registration{
    "compare", 35, [](CLI::App& app) {
      auto args = std::make_shared<CompareArgs>();
      auto* cmd = app.add_subcommand(
          "compare",
          "Compare two results sets (BASE NEW) or two groups of one (--a K=V --b K=V): every "
          "metric's ratio or difference with its 95% CI, Mann-Whitney U or Welch test, TOST "
          "equivalence and a verdict; exit status 1 when a metric is significantly worse beyond "
          "its threshold");
      add_options(cmd, *args);
      cmd->callback([args] {
        const auto& formats = report::compare_formats();
        if (std::find(formats.begin(), formats.end(), args->format) == formats.end()) {
          throw InputError(
              fmt::format("--format: unknown compare format '{}' (expected one of: {})",
                          args->format, fmt::join(formats, ", ")));
        }
        const auto outcome = run_compare(*args);
        const std::string text = report::render_compare(outcome, args->format);
        if (args->out.empty()) {
          fmt::print("{}", text);
        } else {
          write_file_atomically(args->out, text);
          fmt::print("wrote {}\n", args->out);
        }
        set_exit_status(outcome.any_worse() ? static_cast<int>(ExitStatus::failed) : 0);
      });
    }};

}  // namespace
}  // namespace cb::cli
