// Running one trial's process: stderr to a file, a time limit (SIGTERM, then SIGKILL), Ctrl-C
// forwarded, and PR_SET_PDEATHSIG so that a trial never outlives its suite.
#pragma once

#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

namespace cb::suite {

struct ChildResult {
  int exit_code = -1;  // exit status, or -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;
  bool interrupted = false;
};

// Set by the suite's SIGINT/SIGTERM handler; the running child is sent SIGINT.
volatile std::sig_atomic_t& suite_interrupted();

// Installs the handler that sets suite_interrupted() for SIGINT and SIGTERM; the destructor
// restores the defaults.
class InterruptHandler {
 public:
  InterruptHandler();
  ~InterruptHandler();
  InterruptHandler(const InterruptHandler&) = delete;
  InterruptHandler& operator=(const InterruptHandler&) = delete;
};

// Runs argv (argv[0] a path) with stderr to `stderr_path` and waits: after `time_limit_s` it
// sends SIGTERM and, 10 s later, SIGKILL; on suite_interrupted() it forwards SIGINT and kills
// after 30 s.
ChildResult run_child(const std::vector<std::string>& argv, const std::filesystem::path& stderr_path,
                      double time_limit_s);

// What a short command (sbatch, squeue, ...) printed and how it ended.
struct CommandOutput {
  int exit_code = -1;  // exit status, 127 when it could not be started, -1 when killed by a signal
  std::string out, err;
};

// Runs argv (argv[0] searched in PATH) with stdin from /dev/null, capturing stdout and stderr,
// and waits for it, in a process group of its own (a Ctrl-C at the terminal does not kill it).
// Never throws for a failing command: the caller judges exit_code.
CommandOutput run_command(const std::vector<std::string>& argv);

// The last `bytes` of a file ("…" first when cut), "" when it cannot be read.
std::string tail_of_file(const std::filesystem::path& path, std::size_t bytes);

}  // namespace cb::suite
