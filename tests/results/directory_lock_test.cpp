// Ownership of a results directory: one `cifarbench run` at a time, never stuck after a crash.
#include "results/directory_lock.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "core/error.h"
#include "support/temp_dir.h"

namespace cb::results {
namespace {
using testing::TempDir;

TEST(DirectoryLock, ASecondOwnerIsRefusedNamingTheHoldersPid) {
  TempDir tmp;
  const DirectoryLock first = DirectoryLock::acquire(tmp.path());
  try {
    (void)DirectoryLock::acquire(tmp.path());
    FAIL() << "two owners of one results directory";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(tmp.path().string()), std::string::npos) << what;
    EXPECT_NE(what.find(fmt::format("pid {}", getpid())), std::string::npos) << what;
  }
}

TEST(DirectoryLock, AnOwnerKilledWithSigkillLeavesNothingStuck) {
  TempDir tmp;
  const pid_t child = fork();
  if (child == 0) {
    try {
      const DirectoryLock lock = DirectoryLock::acquire(tmp.path());
      raise(SIGKILL);  // a crash: no destructor runs
    } catch (...) {
    }
    _exit(3);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child did not take the lock";
  std::ifstream in(tmp.path() / DirectoryLock::kLockName);
  std::string holder;
  in >> holder;
  EXPECT_EQ(holder, std::to_string(child));  // the dead owner's pid is still written there
  EXPECT_NO_THROW((void)DirectoryLock::acquire(tmp.path()));
}

TEST(DirectoryLock, ReleasingItLetsTheNextOwnerIn) {
  TempDir tmp;
  { const DirectoryLock first = DirectoryLock::acquire(tmp.path()); }
  EXPECT_NO_THROW((void)DirectoryLock::acquire(tmp.path()));
}

}  // namespace
}  // namespace cb::results
