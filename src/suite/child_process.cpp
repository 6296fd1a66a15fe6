#include "suite/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
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

CommandOutput run_command(const std::vector<std::string>& argv) {
  CommandOutput r;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) throw CheckFailed("pipe failed: cannot run " + argv.at(0));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    throw CheckFailed("pipe failed: cannot run " + argv.at(0));
  }
  const pid_t pid = fork();
  if (pid < 0) throw CheckFailed("fork failed: cannot run " + argv.at(0));
  if (pid == 0) {
    setpgid(0, 0);  // a Ctrl-C at the terminal is the caller's to handle, not the command's
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  for (int open_fds = 2; open_fds > 0;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;  // Ctrl-C while waiting: the command still ends by itself
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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
