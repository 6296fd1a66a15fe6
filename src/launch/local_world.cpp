#include "launch/local_world.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <thread>

#include "launch/launch_env.h"
#include "core/error.h"

namespace cb::launch {
namespace {
using Clock = std::chrono::steady_clock;

std::atomic<int> g_forward_signal{0};
void remember_signal(int sig) { g_forward_signal.store(sig); }

// Restores the previous handlers of SIGINT and SIGTERM when the launcher returns.
class ForwardedSignals {
 public:
  ForwardedSignals() {
    g_forward_signal.store(0);
    old_int_ = std::signal(SIGINT, remember_signal);
    old_term_ = std::signal(SIGTERM, remember_signal);
  }
  ~ForwardedSignals() {
    std::signal(SIGINT, old_int_);
    std::signal(SIGTERM, old_term_);
  }
  ForwardedSignals(const ForwardedSignals&) = delete;
  ForwardedSignals& operator=(const ForwardedSignals&) = delete;

 private:
  void (*old_int_)(int) = SIG_DFL;
  void (*old_term_)(int) = SIG_DFL;
};

pid_t start_rank(const std::vector<std::string>& argv, const EnvironmentMap& vars) {
  const pid_t pid = fork();
  if (pid < 0) throw CheckFailed("fork failed: cannot start a rank of the local world");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // no rank outlives its launcher (kill -9 included)
    for (const auto& [k, v] : vars) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}
}  // namespace

int free_local_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw CheckFailed("socket() failed: cannot find a free port for the rendezvous");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  close(fd);
  if (!ok) throw CheckFailed("cannot bind a port on 127.0.0.1 for the rendezvous");
  return ntohs(addr.sin_port);
}

std::vector<std::string> own_command_line_without_nproc() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::string cur;
  for (char c : all) {
    if (c == '\0') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (args.empty()) throw CheckFailed("/proc/self/cmdline is empty: cannot restart this command");
  std::vector<std::string> kept{"/proc/self/exe"};  // this same binary, however it was started
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) kept[0] = exe.string();
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;
      continue;
    }
    if (args[i].rfind("--nproc=", 0) == 0) continue;
    kept.push_back(args[i]);
  }
  return kept;
}

int run_local_world(const std::vector<std::string>& argv, const LocalWorldOptions& options) {
  const int port = options.master_port > 0 ? options.master_port : free_local_port();
  ForwardedSignals forwarding;
  std::vector<pid_t> pids;
  for (int r = 0; r < options.world_size; ++r) {
    pids.push_back(start_rank(argv, local_launch_variables(r, options.world_size, port)));
  }
  std::vector<int> status(pids.size(), -1);  // exit status, 128 + signal, -1 while running
  std::size_t running = pids.size();
  bool failed = false, interrupted = false;
  std::optional<Clock::time_point> kill_at;
  int forwarded = 0;
  while (running > 0) {
    int ws = 0;
    const pid_t w = waitpid(-1, &ws, WNOHANG);
    if (w > 0) {
      for (std::size_t r = 0; r < pids.size(); ++r) {
        if (pids[r] != w) continue;
        status[r] = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        --running;
        if (status[r] == 130) {
          interrupted = true;
        } else if (status[r] != 0 && !failed) {
          failed = true;
          fmt::print(stderr, "cifarbench: rank {} of {} {}; stopping the other ranks within {} s\n",
                     r, pids.size(),
                     WIFEXITED(ws) ? fmt::format("exited with status {}", status[r])
                                   : fmt::format("was killed by signal {}", WTERMSIG(ws)),
                     options.failure_grace_s);
          kill_at = Clock::now() + std::chrono::seconds(options.failure_grace_s);
        }
      }
      continue;
    }
    if (const int sig = g_forward_signal.exchange(0); sig != 0) {
      interrupted = interrupted || sig == SIGINT;
      for (std::size_t r = 0; r < pids.size(); ++r) {
        if (status[r] < 0) kill(pids[r], sig);  // each rank stops at the same step and exits
      }
      if (++forwarded > 1 || sig == SIGTERM) {  // a second Ctrl-C, or SIGTERM: do not linger
        const auto soon = Clock::now() + std::chrono::seconds(10);
        if (!kill_at || *kill_at > soon) kill_at = soon;
      }
    }
    if (kill_at && Clock::now() > *kill_at) {
      for (std::size_t r = 0; r < pids.size(); ++r) {
        if (status[r] < 0) kill(pids[r], SIGKILL);
      }
      kill_at.reset();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (failed) return 1;
  if (interrupted) return 130;
  return 0;
}

}  // namespace cb::launch
