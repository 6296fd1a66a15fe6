// `cifarbench collect RESULTS`: imports what the trials of a suite run as Slurm jobs wrote into
// their own directories (trials/<key>/result.json) into RESULTS/results.sqlite, and records how
// the jobs that ended did, with Slurm's reason. The same import as a watching `run` does; for
// when that `run` was stopped. docs/cluster.md.
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "cli/command.h"
#include "core/error.h"
#include "results/directory_lock.h"
#include "results/store.h"
#include "suite/slurm_executor.h"
#include "suite/trial_import.h"

namespace cb::cli {
namespace {
namespace fs = std::filesystem;

struct Counts {
  int completed = 0, running = 0, ended_otherwise = 0, untouched = 0;
};

// What Slurm says of the trial's recorded job, when the trial's files show no end.
void settle_with_slurm(results::ResultsStore& store, const results::TrialRecord& t, const fs::path& dir,
                       const suite::ImportedTrial& imported, bool& slurm_reachable) {
  const std::string job = suite::recorded_job_id(dir);
  if (job.empty() || !slurm_reachable || (imported.found && results::is_terminal(imported.status))) return;
  std::map<std::string, suite::JobState> states;
  try {
    states = suite::query_jobs({job});
  } catch (const Error& e) {
    fmt::print("Slurm cannot be asked about the jobs ({}): unfinished trials stay as they are\n", e.what());
    slurm_reachable = false;
    return;
  }
  const suite::JobState& state = states[job];
  if (state.phase == suite::JobState::Phase::ended || state.phase == suite::JobState::Phase::gone) {
    (void)suite::record_job_end(store, t.id, job, state, imported, dir);
  }
}

int collect(const std::string& results_dir) {
  const fs::path dir(results_dir);
  if (!fs::exists(dir / results::ResultsStore::kDatabaseName)) {
    throw InputError(fmt::format("RESULTS {}: no {} here (a results directory of `cifarbench run`)",
                                 results_dir, results::ResultsStore::kDatabaseName));
  }
  // The database's only writer: refused while a `run` on this directory is alive.
  const auto lock = results::DirectoryLock::acquire(dir);
  results::ResultsStore store = results::ResultsStore::open(dir);
  Counts n;
  bool slurm_reachable = true;
  for (const auto& t : store.load().trials) {
    if (results::is_terminal(t.status)) continue;
    const fs::path trial_dir = suite::trial_directory(dir, t.key);
    const suite::ImportedTrial imported = suite::import_trial_files(store, t, trial_dir);
    settle_with_slurm(store, t, trial_dir, imported, slurm_reachable);
    const auto now = store.find_trial(t.suite_id, t.key);
    const results::TrialStatus status = now ? now->status : t.status;
    fmt::print("{}: {}, {} epoch(s)\n", t.key, results::to_string(status), imported.epochs);
    if (status == results::TrialStatus::completed) ++n.completed;
    else if (status == results::TrialStatus::running) ++n.running;
    else if (status == results::TrialStatus::planned) ++n.untouched;
    else ++n.ended_otherwise;
  }
  fmt::print("collected into {}: {} completed, {} still running, {} ended otherwise, {} not started\n",
             store.database_path().string(), n.completed, n.running, n.ended_otherwise, n.untouched);
  return 0;
}

const CommandRegistration collect_registration{"collect", 15, [](CLI::App& app) {
  auto results = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "collect", "Import what a suite's Slurm jobs wrote (trials/<key>/) into RESULTS/results.sqlite "
                 "(after the submitting `run` was stopped)");
  cmd->add_option("RESULTS", *results, "results directory of `cifarbench run`")->required();
  cmd->callback([results] { set_exit_status(collect(*results)); });
}};

}  // namespace
}  // namespace cb::cli
