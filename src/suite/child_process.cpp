#include "suite/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/error.h"

namespace cb::suite {
namespace {
using Clock = std::chrono::steady_clock;

void on_signal(int) { suite_interrupted() = 1; }

[[noreturn]] void exec_child(const std::vector<std::string>& argv, const std::filesystem::path& stderr_path) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // a trial never outlives its suite (kill -9 included)
  const int fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) dup2(fd, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}
}  // namespace

volatile std::sig_atomic_t& suite_interrupted() {
  static volatile std::sig_atomic_t flag = 0;
  return flag;
}

InterruptHandler::InterruptHandler() {
  suite_interrupted() = 0;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

InterruptHandler::~InterruptHandler() {
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
}

ChildResult run_child(const std::vector<std::string>& argv, const std::filesystem::path& stderr_path,
                      double time_limit_s) {
  const pid_t pid = fork();
  if (pid < 0) throw CheckFailed("fork failed: cannot start a trial process");
  if (pid == 0) exec_child(argv, stderr_path);
  ChildResult r;
  const auto start = Clock::now();
  bool sent_term = false, sent_int = false;
  Clock::time_point kill_deadline{};
  for (;;) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
      else r.signal = WTERMSIG(status);
      break;
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (suite_interrupted() && !sent_int) {
      kill(pid, SIGINT);  // the trial records itself as interrupted and exits
      sent_int = true;
      r.interrupted = true;
      kill_deadline = Clock::now() + std::chrono::seconds(30);
    }
    if (!sent_term && elapsed > time_limit_s) {
      kill(pid, SIGTERM);
      sent_term = true;
      r.timed_out = true;
      kill_deadline = Clock::now() + std::chrono::seconds(10);
    }
    if ((sent_term || sent_int) && Clock::now() > kill_deadline) kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return r;
}

std::string tail_of_file(const std::filesystem::path& path, std::size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > bytes ? "…" + s.substr(s.size() - bytes) : s;
}

}  // namespace cb::suite
