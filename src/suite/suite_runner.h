// Runs a suite: every planned trial in its own child process (`cifarbench train` in suite-child
// mode, writing into the results database), so that a crash, an out-of-memory kill or a
// time-out costs one trial, not the suite. Ctrl-C stops cleanly and `--resume` re-runs only
// what did not complete.
#pragma once

#include <filesystem>
#include <string>

#include "suite/suite.h"

namespace cb::suite {

struct SuiteRunOptions {
  std::filesystem::path results_dir;
  std::filesystem::path executable;  // the cifarbench binary to run trials with
  std::string data_path;             // --data, passed to every trial
  std::string only;                  // --only PATTERN
  bool resume = false;
  // With resume: a completed trial whose stored configuration differs from the suite's now is
  // run again from scratch instead of refusing the resume.
  bool restart_changed = false;
  bool dry_run = false;
};

struct SuiteRunSummary {
  int planned = 0, skipped_completed = 0, completed = 0, failed = 0;
  bool interrupted = false;
  bool synthetic_fallback_used = false;
  std::int64_t suite_id = 0;
};

// Runs the suite; SIGINT (also sent to the running child) ends it with interrupted = true.
SuiteRunSummary run_suite(const Suite& suite, const SuiteRunOptions& options);

}  // namespace cb::suite
