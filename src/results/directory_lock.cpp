#include "results/directory_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

#include "core/error.h"

namespace cb::results {
namespace fs = std::filesystem;

namespace {
std::string read_holder(int fd) {
  char buf[64] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string text = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? "unknown" : text;
}
}  // namespace

DirectoryLock DirectoryLock::acquire(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw InputError(fmt::format("results directory {}: cannot create it: {}", dir.string(),
                                 ec ? ec.message() : "exists and is not a directory"));
  }
  const fs::path path = dir / kLockName;
  // O_CLOEXEC: the trials' child processes must not inherit (and so prolong) the lock.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    throw InputError(fmt::format("results directory {}: cannot open its lock file {}: {}",
                                 dir.string(), path.string(), std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string holder = read_holder(fd);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      throw InputError(fmt::format(
          "results directory {}: in use by another cifarbench run (pid {}, holding {}); wait for "
          "it to finish or choose another --results directory",
          dir.string(), holder, path.string()));
    }
    throw InputError(fmt::format("results directory {}: cannot lock {}: {}", dir.string(),
                                 path.string(), std::strerror(err)));
  }
  const std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    const int err = errno;
    ::close(fd);
    throw InputError(fmt::format("results directory {}: cannot write its lock file {}: {}",
                                 dir.string(), path.string(), std::strerror(err)));
  }
  return DirectoryLock(fd);
}

DirectoryLock::DirectoryLock(DirectoryLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock; the file stays (harmless)
}

}  // namespace cb::results
