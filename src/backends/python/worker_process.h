// One Python worker process and its transport (docs/backends/python.md): a socketpair for small
// length-prefixed JSON control messages and a shared-memory region (a memfd both map) for
// batches, logits and weights. Every wait has a deadline; a worker that dies, hangs or answers
// with a Python traceback becomes a cb::Error carrying the traceback or the end of its stderr
// and how it ended. Private to the Python backends (no framework headers).
#pragma once

#include <nlohmann/json.hpp>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace cb::backends::python {

// How a process ended, in words: "exited with status 1", "killed by signal 9 (SIGKILL)".
std::string exit_text(int wait_status);

// Waits for `pid` until `timeout`; its wait status, or -1 when it is still running then.
int wait_for_exit(pid_t pid, std::chrono::milliseconds timeout);

// The last `max_bytes` bytes of what was written to the file `fd` (a memfd), trimmed to lines.
std::string tail_of(int fd, std::size_t max_bytes);

class WorkerProcess {
 public:
  // Starts `interpreter -m cifarbench_worker` with `package_dir` first on PYTHONPATH; `label`
  // names the worker in every error ("torch-py worker (/usr/bin/python3)").
  WorkerProcess(const std::string& interpreter, const std::string& package_dir, std::string label);
  ~WorkerProcess();  // "quit", then waits a moment, then SIGKILL
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // Makes the shared region at least `bytes` long (keeping its contents) and returns it.
  std::byte* shared(std::size_t bytes);
  std::byte* shared() { return shm_; }

  // Sends `request` (its "op" names it in errors) and waits at most `timeout` for the reply.
  // Throws: InputError / Unsupported for the worker's "input" / "unsupported" errors, CheckFailed
  // with the traceback for any other, and CheckFailed when the worker dies or times out (it is
  // killed then, and every later request fails at once).
  nlohmann::json request(nlohmann::json request, std::chrono::seconds timeout);

  pid_t pid() const { return pid_; }

 private:
  void send(const std::string& body);
  // The reply's bytes, or throws after killing the worker when it ends or `deadline` passes.
  std::string receive(const std::string& op, std::chrono::steady_clock::time_point deadline,
                      std::chrono::seconds timeout);
  [[noreturn]] void fail_dead(const std::string& op, const std::string& how);
  void kill_and_reap();

  std::string label_;
  pid_t pid_ = -1;
  int control_ = -1;  // our end of the socketpair
  int shm_fd_ = -1;
  int stderr_fd_ = -1;
  std::byte* shm_ = nullptr;
  std::size_t shm_size_ = 0;
  std::string dead_;  // why the worker is gone ("" while it runs)
};

// Runs `argv` (argv[0] a path) with stdout and stderr captured, for at most `timeout`; returns
// {wait status or -1 on timeout (the process is killed then), stdout, stderr}.
struct CapturedRun {
  int status = -1;
  std::string out, err;
};
CapturedRun run_captured(const std::vector<std::string>& argv, std::chrono::seconds timeout);

// `name` made absolute if it contains a '/', else the first executable `name` on PATH ("" if
// none). Workers and probes run in "/" (so that no folder of the caller's shadows a module).
std::string resolve_program(const std::string& name);

}  // namespace cb::backends::python
