#include "backends/python/worker_process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/error.h"

extern char** environ;

namespace cb::backends::python {
namespace {

using Clock = std::chrono::steady_clock;

// The child's file descriptors: 0 /dev/null, 1 and 2 the given files, 3 the control socket,
// 4 the shared memory (-1: not passed).
struct ChildFds {
  int out = -1, err = -1, control = -1, shm = -1;
};

int make_memfd(const char* name) {
  const int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) throw CheckFailed(fmt::format("memfd_create({}): {}", name, std::strerror(errno)));
  return fd;
}

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(const ChildFds& fds, pid_t parent, char* const* argv, char* const* envp) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // the worker dies with the harness
  if (getppid() != parent) _exit(127);
  // Move every source above the targets first, so that no dup2 overwrites another source.
  const int sources[4] = {fds.out, fds.err, fds.control, fds.shm};
  int moved[4];
  for (int i = 0; i < 4; ++i) moved[i] = sources[i] < 0 ? -1 : fcntl(sources[i], F_DUPFD, 10);
  const int devnull = open("/dev/null", O_RDWR);
  dup2(devnull, 0);
  // Python puts the working directory first on sys.path (-c, -m): a folder there named like a
  // framework ("tensorflow/" in a build tree) would shadow it. Every path passed is absolute.
  if (chdir("/") != 0) _exit(127);
  for (int i = 0; i < 4; ++i) {
    if (moved[i] >= 0) dup2(moved[i], i + 1);  // dup2 clears close-on-exec on the target
  }
  execve(argv[0], argv, envp);
  _exit(127);
}

// Starts argv[0] with `extra_env` added to this process's environment.
pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& extra_env,
            const ChildFds& fds) {
  std::vector<std::string> env_strings(extra_env);
  for (char** e = environ; *e; ++e) {
    const std::string entry(*e);
    const std::string key = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& x : extra_env) replaced = replaced || x.rfind(key + "=", 0) == 0;
    if (!replaced) env_strings.push_back(entry);
  }
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw CheckFailed(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) exec_child(fds, parent, argv.data(), envp.data());
  return pid;
}

std::string file_contents(int fd) {
  std::string out;
  char buffer[65536];
  off_t offset = 0;
  for (ssize_t n; (n = pread(fd, buffer, sizeof buffer, offset)) > 0; offset += n) {
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace

std::string exit_text(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    return fmt::format("killed by signal {} (SIG{})", sig, name ? name : "?");
  }
  return fmt::format("ended with wait status {}", status);
}

int wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return 0;  // not our child any more: nothing to wait for
    if (Clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::string tail_of(int fd, std::size_t max_bytes) {
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) return "";
  const auto size = static_cast<std::size_t>(st.st_size);
  const std::size_t from = size > max_bytes ? size - max_bytes : 0;
  std::string text(size - from, '\0');
  const ssize_t n = pread(fd, text.data(), text.size(), static_cast<off_t>(from));
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  if (from > 0 && text.find('\n') != std::string::npos) text.erase(0, text.find('\n') + 1);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(name, ec);
    return ec ? name : absolute.string();
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string dir = dirs.substr(start, end - start);
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

CapturedRun run_captured(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  ChildFds fds;
  fds.out = make_memfd("cifarbench-probe-out");
  fds.err = make_memfd("cifarbench-probe-err");
  CapturedRun run;
  const pid_t pid = spawn(argv, {}, fds);
  run.status = wait_for_exit(pid, timeout);
  if (run.status == -1) {
    kill(pid, SIGKILL);
    wait_for_exit(pid, std::chrono::seconds(5));
  }
  run.out = file_contents(fds.out);
  run.err = file_contents(fds.err);
  close(fds.out);
  close(fds.err);
  return run;
}

WorkerProcess::WorkerProcess(const std::string& interpreter, const std::string& package_dir,
                             std::string label)
    : label_(std::move(label)) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    throw CheckFailed(fmt::format("{}: socketpair: {}", label_, std::strerror(errno)));
  }
  control_ = pair[0];
  shm_fd_ = make_memfd("cifarbench-worker-shm");
  stderr_fd_ = make_memfd("cifarbench-worker-stderr");
  ChildFds fds{stderr_fd_, stderr_fd_, pair[1], shm_fd_};
  const char* old_path = std::getenv("PYTHONPATH");
  std::vector<std::string> env = {
      "PYTHONPATH=" + package_dir + (old_path && *old_path ? std::string(":") + old_path : ""),
      "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"};
  try {
    pid_ = spawn({interpreter, "-m", "cifarbench_worker", "--control-fd", "3", "--shm-fd", "4"},
                 env, fds);
  } catch (...) {
    close(pair[1]);
    throw;
  }
  close(pair[1]);
  shared(1 << 20);
}

WorkerProcess::~WorkerProcess() {
  if (pid_ > 0 && dead_.empty()) {
    try {
      send(R"({"op":"quit"})");
    } catch (const std::exception&) {
      // already gone: reaped below
    }
    if (wait_for_exit(pid_, std::chrono::seconds(5)) == -1) kill_and_reap();
  }
  if (shm_) munmap(shm_, shm_size_);
  for (int fd : {control_, shm_fd_, stderr_fd_}) {
    if (fd >= 0) close(fd);
  }
}

std::byte* WorkerProcess::shared(std::size_t bytes) {
  if (bytes <= shm_size_) return shm_;
  const std::size_t size = std::max(bytes, shm_size_ * 2);
  if (ftruncate(shm_fd_, static_cast<off_t>(size)) != 0) {
    throw CheckFailed(fmt::format("{}: cannot grow shared memory to {} bytes: {}", label_, size,
                                  std::strerror(errno)));
  }
  void* mapped = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd_, 0);
  if (mapped == MAP_FAILED) {
    throw CheckFailed(fmt::format("{}: mmap of {} bytes: {}", label_, size, std::strerror(errno)));
  }
  if (shm_) munmap(shm_, shm_size_);
  shm_ = static_cast<std::byte*>(mapped);
  shm_size_ = size;
  return shm_;
}

void WorkerProcess::send(const std::string& body) {
  std::string frame(4, '\0');
  const auto n = static_cast<std::uint32_t>(body.size());
  for (int i = 0; i < 4; ++i) frame[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  frame += body;
  for (std::size_t sent = 0; sent < frame.size();) {
    const ssize_t r = ::send(control_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw CheckFailed(fmt::format("{}: send: {}", label_, std::strerror(errno)));
    sent += static_cast<std::size_t>(r);
  }
}

void WorkerProcess::kill_and_reap() {
  kill(pid_, SIGKILL);
  wait_for_exit(pid_, std::chrono::seconds(10));
}

void WorkerProcess::fail_dead(const std::string& op, const std::string& how) {
  dead_ = how;
  const std::string err = tail_of(stderr_fd_, 4000);
  throw CheckFailed(fmt::format("{}: '{}' failed: the worker {}{}", label_, op, how,
                                err.empty() ? std::string("; it wrote nothing to stderr")
                                            : "; its stderr ended with:\n" + err));
}

std::string WorkerProcess::receive(const std::string& op, Clock::time_point deadline,
                                   std::chrono::seconds timeout) {
  std::string data;
  std::size_t want = 4;
  bool have_length = false;
  while (data.size() < want) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{control_, POLLIN, 0};
    const int r = left.count() > 0 ? poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1000))) : 0;
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      if (Clock::now() < deadline) continue;
      kill_and_reap();
      fail_dead(op, fmt::format("did not answer within {} s (timed out; killed with SIGKILL; "
                                "CIFARBENCH_PYTHON_TIMEOUT_S sets the limit)", timeout.count()));
    }
    char buffer[65536];
    const ssize_t n = recv(control_, buffer, std::min(sizeof buffer, want - data.size()), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // end of the channel: the worker is gone or going
      int status = wait_for_exit(pid_, std::chrono::seconds(5));
      if (status == -1) {
        kill_and_reap();
        fail_dead(op, "closed its channel and did not exit (killed with SIGKILL)");
      }
      fail_dead(op, exit_text(status));
    }
    data.append(buffer, static_cast<std::size_t>(n));
    if (!have_length && data.size() == 4) {
      std::uint32_t length = 0;
      for (int i = 0; i < 4; ++i) length |= static_cast<std::uint32_t>(static_cast<unsigned char>(data[static_cast<std::size_t>(i)])) << (8 * i);
      have_length = true;
      want = 4 + length;
    }
  }
  return data.substr(4);
}

nlohmann::json WorkerProcess::request(nlohmann::json request, std::chrono::seconds timeout) {
  const std::string op = request.value("op", "?");
  if (!dead_.empty()) {
    throw CheckFailed(fmt::format("{}: '{}' refused: the worker already {}", label_, op, dead_));
  }
  request["shm_size"] = shm_size_;
  try {
    send(request.dump());
  } catch (const CheckFailed&) {
    const int status = wait_for_exit(pid_, std::chrono::seconds(5));
    if (status == -1) kill_and_reap();
    fail_dead(op, status == -1 ? std::string("stopped reading its channel (killed with SIGKILL)")
                               : exit_text(status));
  }
  const std::string body = receive(op, Clock::now() + timeout, timeout);
  nlohmann::json reply = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (reply.is_discarded() || !reply.is_object()) {
    throw CheckFailed(fmt::format("{}: '{}': the worker's reply is not a JSON object: {}", label_,
                                  op, body.substr(0, 200)));
  }
  if (reply.contains("error")) {
    const std::string kind = reply.value("kind", "error");
    const std::string text = fmt::format("{}: '{}' failed in Python: {}\n{}", label_, op,
                                         reply.value("message", ""), reply.value("error", ""));
    if (kind == "input") throw InputError(text);
    if (kind == "unsupported") throw Unsupported(text);
    throw CheckFailed(text);
  }
  return reply;
}

}  // namespace cb::backends::python
