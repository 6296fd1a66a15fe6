// A suite's trials as Slurm jobs: each trial's job runs the same child command as a local
// trial (`cifarbench train --trial trials/<key>/trial.json`) and writes only into its own
// directory; this process submits (at most max_in_flight at once), polls Slurm, imports every
// trial's epochs as they appear, and records how each job ended, with Slurm's reason when Slurm
// stopped it. Ctrl-C cancels the jobs (asking first on a terminal). docs/cluster.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "results/store.h"
#include "suite/slurm.h"
#include "suite/trial_import.h"

namespace cb::suite {

struct SlurmTrial {
  std::string key;
  std::filesystem::path dir;         // trials/<key>, with trial.json written
  int processes = 1;
  int threads = 0;
  std::string job_id;                // set: re-attach to this queued or running job
};

struct SlurmRunOptions {
  SlurmSettings settings;
  std::filesystem::path executable;  // cifarbench, as the jobs run it
  std::string suite_name;
  std::int64_t suite_id = 0;
  double job_time_limit_s = 3600;    // Slurm's limit (the suite's, with a margin to stop itself)
};

struct SlurmRunCounts {
  int completed = 0, failed = 0;
  bool interrupted = false;
};

// The job file of a trial: the id of its job, written when sbatch accepted it.
inline constexpr const char* kJobFileName = "slurm-job";
std::string recorded_job_id(const std::filesystem::path& trial_dir);
std::string slurm_job_name(const std::string& suite_name, const std::string& key);
SlurmJobSpec slurm_job_spec(const SlurmTrial& trial, const SlurmRunOptions& options);

// Runs the trials as jobs until every one ended or Ctrl-C.
SlurmRunCounts run_slurm_trials(const std::vector<SlurmTrial>& trials, const SlurmRunOptions& options,
                                results::ResultsStore& store);

// Records how a job that Slurm no longer runs ended, after its files were imported (`imported`):
// the trial's own status when it ended by itself, else Slurm's state and reason (time limit,
// cancel, node failure, preemption, out of memory), its completed epochs kept. Returns it.
results::TrialStatus record_job_end(results::ResultsStore& store, std::int64_t trial_id,
                                    const std::string& job_id, const JobState& job,
                                    const ImportedTrial& imported, const std::filesystem::path& dir);

}  // namespace cb::suite
