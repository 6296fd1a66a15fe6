// Importing a trial's own files into the results database. A trial that runs as a Slurm job
// never opens results.sqlite (SQLite over a network filesystem is unsafe): it writes
// trials/<key>/result.json, rewritten after every epoch with every epoch so far, and the
// submitting `cifarbench run` (or `cifarbench collect` later) is the database's only writer.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "results/store.h"

namespace cb::suite {

// trials/<key> under a results directory, the key's characters outside [A-Za-z0-9.-] as '_'.
std::filesystem::path trial_directory(const std::filesystem::path& results_dir, const std::string& key);

struct ImportedTrial {
  bool found = false;  // result.json exists and holds a result
  results::TrialStatus status = results::TrialStatus::planned;  // what the file says
  std::string error;
  int epochs = 0;      // epochs in the file
  int new_epochs = 0;  // of which this import added
};

// Imports `dir`/result.json into trial `record` (which must exist in `store`): its resolved
// configuration and environment, its epochs from `known_epochs` on (an epoch written again
// replaces itself), and, when the file says the trial ended, its final figures and status.
// A missing or half-written file imports nothing (found = false).
ImportedTrial import_trial_files(results::ResultsStore& store, const results::TrialRecord& record,
                                 const std::filesystem::path& dir, int known_epochs = 0);

}  // namespace cb::suite
