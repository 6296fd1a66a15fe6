// A single-node Slurm cluster on localhost for the cluster tests: munged, slurmctld and slurmd
// started as child processes with a slurm.conf written here (custom ports, state in a temporary
// directory, process tracking and task plugins that need no cgroups, no accounting database),
// and stopped afterwards. SLURM_CONF is set for this process, so that every Slurm command it
// and its children run (cifarbench run included) talks to this cluster.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace cb::testing {

class SlurmCluster {
 public:
  // Why the cluster cannot be started here ("" when it can): Slurm not installed, not root.
  static std::string unavailable_reason();

  // Starts the daemons and waits until the node is idle; throws std::runtime_error with the
  // daemons' logs when it does not come up.
  SlurmCluster();
  ~SlurmCluster();
  SlurmCluster(const SlurmCluster&) = delete;
  SlurmCluster& operator=(const SlurmCluster&) = delete;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  pid_t start_daemon(const std::vector<std::string>& argv, const std::string& log_name);
  std::string logs() const;
  void stop();

  std::filesystem::path dir_;
  std::vector<pid_t> daemons_;
};

}  // namespace cb::testing
