// Which rank of which world this process is, as a launcher (torchrun, Slurm's srun, Open MPI's
// mpirun) told it through environment variables. A pure function over a variable map, so that
// every launcher's conventions are tested without starting one.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace cb::launch {

using EnvironmentMap = std::map<std::string, std::string, std::less<>>;

struct LaunchEnvironment {
  std::string launcher;  // "torchrun", "slurm" or "openmpi": the variables it was read from
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;       // rank on this machine
  std::string master_addr;  // host of rank 0's rendezvous store
  int master_port = 0;
};

// The port torchrun and PyTorch use when none is given.
inline constexpr int kDefaultMasterPort = 29500;

// The launch described by `env`, or nullopt when no launcher variable is set (one process).
// Precedence, innermost launcher first: torchrun's RANK/WORLD_SIZE, then Open MPI's
// OMPI_COMM_WORLD_*, then Slurm's SLURM_PROCID/SLURM_NTASKS (torchrun or mpirun started inside
// a Slurm job see Slurm's variables of the outer step too). MASTER_ADDR and MASTER_PORT, when
// set, override the Slurm node list and the default port. Throws InputError naming the variable
// for a partial set (a rank without a world size, no rendezvous address), a value that is not a
// number, or a contradiction (rank outside the world, local rank outside the world).
std::optional<LaunchEnvironment> parse_launch_environment(const EnvironmentMap& env);

// The first host of a Slurm node list: "node[01-04],other" → "node01", "a[3,5]-b[1-2]" → "a3-b1".
// Throws InputError naming SLURM_JOB_NODELIST when the list is malformed.
std::string first_slurm_host(std::string_view nodelist);

// This process's environment as a map.
EnvironmentMap process_environment();

// The variables a launcher sets for rank `rank` of a local world (what `train --nproc` passes).
EnvironmentMap local_launch_variables(int rank, int world_size, int master_port);

}  // namespace cb::launch
