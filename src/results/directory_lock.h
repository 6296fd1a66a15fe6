// Ownership of a results directory: `cifarbench run` holds an exclusive flock on DIR/.lock for
// as long as it runs, so a second run on the same directory is refused instead of mixing its
// trials (and its load) into the first one's. The lock belongs to the open file, so a crashed
// or killed owner never leaves it stuck: the kernel releases it with the process.
#pragma once

#include <filesystem>

namespace cb::results {

class DirectoryLock {
 public:
  static constexpr const char* kLockName = ".lock";

  // Takes DIR/.lock (creating DIR), writing this process's pid into it. Throws InputError
  // (exit 2) naming the directory and the holder's pid when another process holds it.
  static DirectoryLock acquire(const std::filesystem::path& dir);

  DirectoryLock(DirectoryLock&& other) noexcept;
  DirectoryLock& operator=(DirectoryLock&&) = delete;
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  ~DirectoryLock();

 private:
  explicit DirectoryLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace cb::results
