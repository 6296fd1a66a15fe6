// Slurm, through its own commands: the batch script of a trial's job, sbatch to submit it,
// squeue (queued and running jobs), then sacct or, on clusters without accounting,
// `scontrol show job` (jobs that ended), and scancel. docs/cluster.md.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "suite/executor.h"

namespace cb::suite {

struct SlurmJobSpec {
  std::string name;                    // --job-name
  std::filesystem::path work_dir;      // --chdir (where `run` was started: relative paths hold)
  std::filesystem::path log;           // --output (stdout and stderr of every task)
  std::vector<std::string> command;    // what each task runs
  int tasks = 1;                       // data-parallel ranks (srun starts one per task)
  int threads = 0;                     // the trial's threads (cpus per task when not set)
  double time_limit_s = 3600;          // the job's time limit (rounded up to whole minutes)
};

// The sbatch script of one job: #SBATCH lines from the settings and the spec, the extra
// sbatch_args last (a later option overrides an earlier one), then the command; with more than
// one task, srun starts it once per task and MASTER_PORT is derived from the job id (the ranks
// find rank 0 on the job's first node, docs/distributed.md).
std::string sbatch_script(const SlurmSettings& settings, const SlurmJobSpec& job);

// Writes `script` and submits it with `sbatch --parsable`; returns the job id. Throws
// CheckFailed with sbatch's message when it refuses (a bad partition, account, ...).
std::string submit_job(const std::filesystem::path& script);

struct JobState {
  enum class Phase { queued, running, ended, gone };
  Phase phase = Phase::gone;  // gone: Slurm no longer knows the job (its files decide)
  std::string state;          // Slurm's: PENDING, RUNNING, COMPLETED, TIMEOUT, CANCELLED, ...
  std::string reason;         // Slurm's reason, exit code, "by <uid>" of a cancel, ...
};

// The states of `job_ids`: squeue for those queued or running, then sacct for the rest (or,
// when sacct says accounting is disabled, `scontrol show job`). Job names are returned in
// `names` (id → name) for the jobs squeue lists, when asked.
std::map<std::string, JobState> query_jobs(const std::vector<std::string>& job_ids,
                                           std::map<std::string, std::string>* names = nullptr);

// This user's queued or running jobs: name → id (to find a job whose id was never recorded).
std::map<std::string, std::string> queued_jobs_by_name();

// scancel; returns false (warning printed) when scancel fails.
bool cancel_jobs(const std::vector<std::string>& job_ids);

// Slurm's terminal states that mean the job was stopped from outside the trial.
bool killed_by_slurm(const std::string& state);

}  // namespace cb::suite
