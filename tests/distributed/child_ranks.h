// Starts real child processes side by side (the ranks of a test world) and waits for them with
// a deadline; their output goes to files so that a failure can show it.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace cb::testing {

struct ChildProcess {
  pid_t pid = -1;
  std::filesystem::path log;  // stdout and stderr together
};

inline ChildProcess start_child(const std::vector<std::string>& argv,
                                const std::map<std::string, std::string>& env,
                                const std::filesystem::path& log) {
  ChildProcess c;
  c.log = log;
  c.pid = fork();
  if (c.pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return c;
}

// The exit status (128 + signal when killed), or -1 if it is still running after `limit`.
inline int wait_child(const ChildProcess& c, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    if (waitpid(c.pid, &status, WNOHANG) == c.pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

inline void kill_child(const ChildProcess& c) {
  kill(c.pid, SIGKILL);
  int status = 0;
  waitpid(c.pid, &status, 0);
}

inline std::string read_log(const ChildProcess& c) {
  std::ifstream in(c.log);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace cb::testing
