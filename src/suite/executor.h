// Where a suite's trials run (docs/suites.md, [executor]): one after another as child processes
// on this machine (local), or as Slurm jobs (slurm, docs/cluster.md), with the Slurm options a
// cluster asks for. The suite's time_limit_s is each job's time limit.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"

namespace cb::suite {

enum class ExecutorKind { local, slurm };
std::string_view to_string(ExecutorKind kind);
std::optional<ExecutorKind> parse_executor_kind(std::string_view name);

struct SlurmSettings {
  std::string partition;             // "" : the cluster's default partition
  std::string account;
  std::string qos;
  int cpus_per_trial = 0;            // per task; 0: the trial's threads, else Slurm's default
  std::string memory;                // --mem per node, e.g. "16G"; "" : Slurm's default
  int gpus_per_trial = 0;            // per task (one per data-parallel rank)
  std::vector<std::string> sbatch_args;  // extra #SBATCH lines, e.g. "--constraint=a100"
  int max_in_flight = 0;             // jobs queued or running at once; 0: no limit
  double poll_interval_s = 10;       // how often squeue/sacct are asked
};

struct ExecutorSettings {
  ExecutorKind kind = ExecutorKind::local;
  SlurmSettings slurm;
};

// Reads a suite's [executor] table; throws InputError naming the key for a bad value.
ExecutorSettings parse_executor(config::TableReader& table);

}  // namespace cb::suite
