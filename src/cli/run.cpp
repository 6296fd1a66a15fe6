// `cifarbench run [SUITE]`: plans a suite's trials, runs each in its own child process (or as a
// Slurm job, --executor slurm), and ends with the summary tables and the HTML report's path.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "suite/suite.h"
#include "suite/suite_runner.h"
#include "cli/command.h"
#include "cli/common.h"
#include "core/build_info.h"
#include "core/error.h"
#include "data/image_folder.h"
#include "data/import.h"
#include "data/official_archives.h"
#include "data/resolve.h"
#include "report/report.h"
#include "results/store.h"

namespace cb::cli {
namespace {
namespace fs = std::filesystem;

struct RunOptions {
  std::string suite;
  std::string results_dir;
  std::string only;
  std::string data_path;
  bool resume = false;
  bool restart_changed = false;
  bool dry_run = false;
  std::string order;  // "" = the suite's
  std::string executor;  // "" = the suite's [executor] kind
  std::optional<std::uint64_t> order_seed;
};

// The default suite: configs/quick.toml in the working directory, beside the build tree, in the
// installed share/cifarbench/configs, or in the source tree this binary was built from.
fs::path default_suite() {
  const fs::path exe_dir = self_executable().parent_path();
  for (const fs::path& candidate :
       {fs::path("configs/quick.toml"), exe_dir / "../../configs/quick.toml",
        exe_dir / "../configs/quick.toml", exe_dir / "../share/cifarbench/configs/quick.toml",
        fs::path(build::kSourceDir) / "configs/quick.toml"}) {
    if (fs::exists(candidate)) return fs::weakly_canonical(candidate);
  }
  throw InputError("no SUITE given and the default suite configs/quick.toml was not found "
                   "(run from the repository, install cifarbench, or name a suite file)");
}

// `--data ARCHIVE` for a CIFAR-10 suite: the archive is decoded once and imported into the cache
// (as `cifarbench data import` does), so that every trial loads CIFAR binary files in
// milliseconds instead of decoding 60,000 images again. Later runs reuse the import.
std::string imported_once(const std::string& path, const std::string& dataset) {
  std::error_code ec;
  if (path.empty() || dataset != "cifar10" || !data::is_archive_path(path) ||
      !fs::is_regular_file(path, ec)) {
    return path;
  }
  const auto stamp =
      static_cast<std::uint64_t>(fs::last_write_time(path, ec).time_since_epoch().count());
  const fs::path target =
      data::cache_dir() / "imported" /
      fmt::format("{}-{}-{:x}", fs::path(path).filename().string(), fs::file_size(path, ec), stamp);
  if (data::read_manifest(target)) {
    fmt::print("data: {} (imported before from {})\n", target.string(), path);
    return target.string();
  }
  fmt::print("data: decoding {} once and importing it into {} ...\n", path, target.string());
  std::fflush(stdout);
  data::DataRequest request;
  request.dataset = dataset;
  request.path = path;
  request.allow_download = false;
  const data::Dataset ds = data::load_dataset_at(path, request);
  data::import_dataset(ds, target, /*replace=*/true);
  fmt::print("data: {} train and {} test images imported\n", ds.train.count, ds.test.count);
  return target.string();
}

int run(const RunOptions& o) {
  const fs::path suite_path = o.suite.empty() ? default_suite() : fs::path(o.suite);
  if (o.suite.empty()) fmt::print("default suite: {}\n", suite_path.string());
  if (!fs::exists(suite_path)) throw InputError(fmt::format("{}: no such suite file", suite_path.string()));
  if (!fs::is_regular_file(suite_path)) {
    throw InputError(fmt::format(
        "SUITE {}: not a regular file; SUITE is a suite file (TOML with a [matrix] table of "
        "frameworks, models, recipes and seeds, see docs/suites.md); a results directory is "
        "given with --results",
        suite_path.string()));
  }
  if (o.restart_changed && !o.resume) {
    throw InputError("--restart-changed: only with --resume (it decides what resuming does with "
                     "completed trials whose configuration changed)");
  }
  suite::Suite suite = suite::load_suite(suite_path);
  if (!o.order.empty()) suite.order = *suite::parse_trial_order(o.order);
  if (o.order_seed) suite.order_seed = o.order_seed;
  if (!o.executor.empty()) suite.executor.kind = *suite::parse_executor_kind(o.executor);
  if (suite.dataset == "synthetic" && !o.data_path.empty()) {
    throw InputError(fmt::format("--data {}: suite {} uses the synthetic dataset, which reads no "
                                 "data; drop --data or set the suite's dataset",
                                 o.data_path, suite_path.string()));
  }
  suite::SuiteRunOptions opt;
  opt.results_dir = o.results_dir.empty() ? fs::path("results") / suite.name : fs::path(o.results_dir);
  opt.executable = self_executable();
  opt.data_path = o.dry_run ? o.data_path : imported_once(o.data_path, suite.dataset);
  opt.only = o.only;
  opt.resume = o.resume;
  opt.restart_changed = o.restart_changed;
  opt.dry_run = o.dry_run;
  const suite::SuiteRunSummary summary = suite::run_suite(suite, opt);
  if (o.dry_run) return 0;

  const results::ResultsSnapshot snapshot =
      results::ResultsStore::open_for_reading(opt.results_dir).load();
  report::ReportRequest console_request;
  console_request.verdict_last = true;  // the run ends with its answer
  const auto console = report::produce_report(snapshot, console_request);
  fmt::print("\n{}", console.console_text);
  const fs::path report_dir = opt.results_dir / "report";
  const auto html = report::produce_report(snapshot, {"html", report_dir, {}});
  fs::path html_file;
  for (const auto& f : html.files) {
    if (f.extension() == ".html") html_file = f;
  }
  fmt::print("\nsuite {}: {} completed, {} failed{}{}\n", suite.name, summary.completed,
             summary.failed,
             summary.skipped_completed ? fmt::format(", {} kept from before", summary.skipped_completed) : "",
             summary.interrupted ? ", interrupted (continue with --resume)" : "");
  fmt::print("results: {}\nHTML report: {}\n", (opt.results_dir / "results.sqlite").string(),
             html_file.empty() ? report_dir.string() : html_file.string());
  if (summary.synthetic_fallback_used) {
    fmt::print("NOTE: synthetic data was used: speed and utilization are valid, accuracy is not CIFAR-10's.\n");
  }
  if (summary.interrupted) return static_cast<int>(ExitStatus::interrupted);
  return summary.failed ? static_cast<int>(ExitStatus::failed) : 0;
}

const CommandRegistration run_registration{"run", 10, [](CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  auto* cmd = app.add_subcommand("run", "Run a benchmark suite (default: configs/quick.toml) and report it");
  add_python_option(cmd);
  cmd->add_option("SUITE", o->suite, "suite file (TOML, see docs/suites.md)");
  cmd->add_option("--results", o->results_dir, "results directory (default: results/<suite name>)");
  cmd->add_flag("--resume", o->resume, "keep completed trials and re-run the others");
  cmd->add_flag("--restart-changed", o->restart_changed,
                "with --resume: run completed trials whose configuration changed again from scratch "
                "(without it, resuming refuses them)");
  cmd->add_flag("--dry-run", o->dry_run,
                "list the planned trials and exit (with --executor slurm: print the sbatch scripts)");
  cmd->add_option("--executor", o->executor,
                  "where trials run: local (child processes, one after another) or slurm (one Slurm "
                  "job each, docs/cluster.md); default: the suite's [executor] kind, else local")
      ->check(CLI::IsMember({"local", "slurm"}));
  cmd->add_option("--only", o->only, "run only trials whose key contains PATTERN (or matches a glob)");
  cmd->add_option("--data", o->data_path, "dataset path for every trial");
  cmd->add_option("--order", o->order,
                  "trial order: interleaved (default: rounds of one seed per configuration, each "
                  "round shuffled) or grid (the matrix's nesting order)")
      ->check(CLI::IsMember({"interleaved", "grid"}));
  cmd->add_option("--order-seed", o->order_seed,
                  "seed of the interleaved order (default: the suite's order_seed, else random; "
                  "the one used is printed and recorded)");
  cmd->callback([o] { set_exit_status(run(*o)); });
}};

}  // namespace
}  // namespace cb::cli
