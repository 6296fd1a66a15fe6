// `cifarbench train --nproc N`: N ranks of one data-parallel world on this machine, each a
// child process of the launcher with torchrun's variables (bench/launch_env.h) set.
#pragma once

#include <string>
#include <vector>

namespace cb::launch {

struct LocalWorldOptions {
  int world_size = 2;
  int master_port = 0;       // 0: a free port on 127.0.0.1
  int failure_grace_s = 60;  // after a rank fails, how long the rest get before SIGKILL
};

// Runs `argv` (argv[0] an executable path) as every rank and waits for all of them. Ctrl-C
// (SIGINT) and SIGTERM are forwarded to every rank; when one rank fails the others get
// `failure_grace_s` to fail on their own (c10d notices a dead peer) and are then killed.
// Returns 0 when every rank exited 0, 130 when the world was interrupted, otherwise 1.
int run_local_world(const std::vector<std::string>& argv, const LocalWorldOptions& options);

// A TCP port on 127.0.0.1 that nothing listens on now.
int free_local_port();

// This process's command line (from /proc/self/cmdline), without `--nproc N`/`--nproc=N`.
std::vector<std::string> own_command_line_without_nproc();

}  // namespace cb::launch
