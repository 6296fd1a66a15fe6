// `cifarbench check [--framework F] [--device D]`: verifies every available backend on this
// machine against the reference backend (src/conformance/check.h), plus a clean process exit
// per backend (a child process builds a trainer, trains one step and returns from main). Prints
// the table, writes it as JSON with --json, records the outcome for the environment of later
// trials, and exits 1 when any check failed.
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "backends/backend.h"
#include "cli/command.h"
#include "cli/common.h"
#include "conformance/check.h"
#include "conformance/measure.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "model/initial_weights.h"
#include "model/zoo.h"
#include "suite/child_process.h"

namespace cb::cli {
namespace {
namespace fs = std::filesystem;

struct CheckCommandOptions {
  std::vector<std::string> frameworks;
  std::string device;
  std::string model = "simple-cnn";
  std::string json_out;
  int threads = 2;
  std::string exit_probe;  // hidden: the child of the clean_exit check
};

// The child of clean_exit: one trainer, one step, then a normal return from main, which runs
// every static destructor (where a library unloaded under running threads crashes).
void exit_probe(const CheckCommandOptions& o) {
  const auto* backend = backends::find_backend(o.exit_probe);
  if (!backend) throw InputError(fmt::format("--exit-probe {}: no such backend", o.exit_probe));
  const auto spec = model::build_zoo_model(o.model, 10);
  const auto weights = model::initial_weights(spec, 2024);
  backends::ExecutionSettings s;
  s.device = o.device.empty() ? "cpu" : o.device;
  s.threads = o.threads;
  auto t = conformance::make_trainer(*backend, spec, weights, s);
  t->train_step(conformance::in_layout(conformance::random_batch(spec, 4, 1), t->input_layout()));
  t->sync();
}

// One clean_exit row per backend and device that built.
void add_clean_exit_checks(conformance::CheckReport& report, const CheckCommandOptions& o) {
  std::vector<conformance::CheckResult> rows;
  for (const auto& r : report.results) {
    if (r.check != "builds" || r.outcome != conformance::Outcome::pass) continue;
    const fs::path err = fs::temp_directory_path() / fmt::format("cifarbench-check-{}-{}.stderr", r.backend, getpid());
    const auto child = suite::run_child({self_executable().string(), "check", "--exit-probe", r.backend,
                                         "--device", r.device, "--model", o.model, "--threads",
                                         std::to_string(o.threads)},
                                        err, 300);
    conformance::CheckResult row{r.backend, r.device, "clean_exit", conformance::Outcome::pass,
                                 "a child built a trainer, trained one step and exited with status 0"};
    if (child.exit_code != 0) {
      row.outcome = conformance::Outcome::fail;
      row.detail = child.signal ? fmt::format("the child died of signal {}", child.signal)
                                : fmt::format("the child exited with status {}", child.exit_code);
      if (child.timed_out) row.detail += " (timed out after 300 s)";
      row.detail += ": " + suite::tail_of_file(err, 400);
    }
    std::error_code ec;
    fs::remove(err, ec);
    rows.push_back(std::move(row));
  }
  for (auto& row : rows) {  // after the backend's other rows
    auto at = report.results.end();
    for (auto it = report.results.begin(); it != report.results.end(); ++it) {
      if (it->backend == row.backend && it->device == row.device) at = it + 1;
    }
    report.results.insert(at, std::move(row));
  }
}

void run_check(const CheckCommandOptions& o) {
  require_zoo_model("--model", o.model);
  backends::register_builtin_backends();
  if (!o.exit_probe.empty()) return exit_probe(o);
  require_output_directory("--json", o.json_out);
  const auto chosen = chosen_backends(o.frameworks);
  conformance::CheckOptions options;
  options.model = o.model;
  options.threads = o.threads;
  if (!o.device.empty()) options.device = o.device;
  auto report = conformance::run_checks(chosen, options);
  add_clean_exit_checks(report, o);
  fmt::print("{}", conformance::format_check_table(report));
  if (!o.json_out.empty()) write_file_atomically(o.json_out, conformance::to_json(report).dump(2) + "\n");
  const fs::path record = conformance::check_record_path();
  try {
    conformance::write_check_record(report, record);
    fmt::print("recorded in {} (every later trial's environment names this check)\n", record.string());
  } catch (const std::exception& e) {
    fmt::print(stderr, "warning: could not record the check in {}: {}\n", record.string(), e.what());
  }
  if (report.failed()) {
    std::vector<std::string> failed;
    for (const auto& r : report.results) {
      if (r.outcome == conformance::Outcome::fail) failed.push_back(r.backend + " " + r.device + ": " + r.check);
    }
    throw CheckFailed(fmt::format("{} check(s) failed: {}", failed.size(), fmt::join(failed, ", ")));
  }
}

const CommandRegistration check_registration{"check", 55, [](CLI::App& app) {
  auto o = std::make_shared<CheckCommandOptions>();
  auto* cmd = app.add_subcommand(
      "check", "Verify every available backend on this machine against the reference (torch): "
               "logits, SGD steps, evaluation, determinism, options, clean exit");
  add_python_option(cmd);
  cmd->add_option("--framework", o->frameworks, "check only this backend (repeatable)");
  cmd->add_option("--device", o->device, "check only this device (cpu, cuda:0, ...)");
  cmd->add_option("--model", o->model, "zoo model to check with (default simple-cnn)");
  cmd->add_option("--threads", o->threads, "CPU threads per trainer")->check(CLI::Range(1, 4096));
  cmd->add_option("--json", o->json_out, "also write the table as JSON to FILE");
  cmd->add_option("--exit-probe", o->exit_probe)->group("");  // internal: clean_exit's child
  cmd->callback([o] { run_check(*o); });
}};

}  // namespace
}  // namespace cb::cli
