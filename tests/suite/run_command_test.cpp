// `cifarbench run`: suites planned, run trial by trial in child processes, recorded in SQLite,
// interrupted and resumed, on small synthetic data.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include <fmt/format.h>

#include "results/directory_lock.h"
#include "results/store.h"
#include "support/require_backend.h"
#include "support/run_process.h"
#include "support/temp_dir.h"

namespace cb {
namespace {
using testing::start_cifarbench;
using testing::run_cifarbench;
using testing::TempDir;

const std::string kTinyModel = std::string(CIFARBENCH_SOURCE_DIR) + "/configs/models/tiny-cnn.toml";

// A suite on synthetic data with the tiny custom model.
std::filesystem::path write_suite(const TempDir& dir, int epochs, const std::string& seeds,
                                  int train_images = 128) {
  const auto path = dir / "suite.toml";
  std::ofstream(path) << "name = \"tiny\"\n"
                      << "dataset = \"synthetic\"\n"
                      << "synthetic_train = " << train_images << "\nsynthetic_test = 64\n"
                      << "time_limit_s = 120\n"
                      << "[matrix]\nframeworks = [\"torch\"]\nmodels = [\"" << kTinyModel << "\"]\n"
                      << "recipes = [\"r\"]\nseeds = " << seeds << "\nthreads = [1]\n"
                      << "[recipes.r.train]\nepochs = " << epochs << "\nwarmup_steps = 1\n"
                      << "[recipes.r.optimizer]\nlr = 0.05\n"
                      << "[recipes.r.data]\nbatch_size = 32\n";
  return path;
}

results::ResultsSnapshot load(const std::filesystem::path& results) {
  return results::ResultsStore::open_for_reading(results).load();
}

// Waits until some trial of the results database has at least `epochs` epochs stored.
bool wait_for_epochs(const std::filesystem::path& results, std::size_t epochs, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::filesystem::exists(results / "results.sqlite")) {
      try {
        if (load(results).epochs.size() >= epochs) return true;
      } catch (const std::exception&) {
        // the database may be mid-creation
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(RunCommand, DryRunListsEveryPlannedTrial) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto r = run_cifarbench({"run", write_suite(dir, 1, "[1, 2, 3]").string(), "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("3 trial(s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("torch/tiny-cnn/r/seed=3"), std::string::npos) << r.out;
}

TEST(RunCommand, SlurmExecutorWithoutSlurmCommandsExits2NamingTheMissingOne) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto suite = write_suite(dir, 1, "[1]");
  const auto r = run_cifarbench({"run", suite.string(), "--results", (dir / "r").string(), "--executor", "slurm"},
                                {"PATH=" + (dir / "empty").string()});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("`sbatch` was not found in PATH"), std::string::npos) << r.err;
  const auto bad = run_cifarbench({"run", suite.string(), "--executor", "pbs", "--dry-run"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--executor"), std::string::npos) << bad.err;
}

TEST(RunCommand, MalformedSuiteNamesLineAndColumnAndExits2) {
  TempDir dir;
  std::ofstream(dir / "bad.toml") << "name = \"x\"\n[matrix\nmodels = [\"resnet20\"]\n";
  const auto r = run_cifarbench({"run", (dir / "bad.toml").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.toml:2:"), std::string::npos) << r.err;
}

TEST(RunCommand, UnknownFrameworkOrModelIsRefusedListingTheValidNames) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  std::ofstream(dir / "fw.toml") << "[matrix]\nframeworks = [\"mxnet\"]\nmodels = [\"resnet20\"]\n";
  auto r = run_cifarbench({"run", (dir / "fw.toml").string(), "--dry-run"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("mxnet"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("torch"), std::string::npos) << r.err;
  std::ofstream(dir / "m.toml") << "[matrix]\nframeworks = [\"torch\"]\nmodels = [\"alexnet\"]\n";
  r = run_cifarbench({"run", (dir / "m.toml").string(), "--dry-run"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("alexnet"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("resnet56"), std::string::npos) << r.err;
}

TEST(RunCommand, ExplicitRealDatasetThatIsMissingExits2) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  std::ofstream(dir / "real.toml") << "dataset = \"cifar10\"\n[matrix]\nframeworks = [\"torch\"]\n"
                                      "models = [\"simple-cnn\"]\n";
  const auto r = run_cifarbench({"run", (dir / "real.toml").string(), "--data",
                                 (dir / "no-such-data").string(), "--results",
                                 (dir / "res").string()});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("no-such-data"), std::string::npos) << r.err;
}

TEST(RunCommand, RunsEveryTrialRecordsEpochsAndWritesTheReport) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto results = dir / "results";
  const auto r = run_cifarbench(
      {"run", write_suite(dir, 2, "[1, 2]").string(), "--results", results.string()},
      {"CIFARBENCH_GNUPLOT=/nonexistent/gnuplot"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("[trial 2/2]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HTML report:"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(results / "report" / "report.html"));
  const auto snap = load(results);
  ASSERT_EQ(snap.trials.size(), 2u);
  for (const auto& t : snap.trials) {
    EXPECT_EQ(t.status, results::TrialStatus::completed) << t.key << ": " << t.error;
    EXPECT_TRUE(t.synthetic);
    EXPECT_TRUE(t.test_accuracy.has_value());
    EXPECT_FALSE(t.environment.empty());
  }
  EXPECT_EQ(snap.epochs.size(), 4u);
}

// seeds = "auto": one round of seeds at a time until the CI is narrow enough or the maximum.
std::filesystem::path write_auto_suite(const TempDir& dir, const std::string& auto_table) {
  const auto path = write_suite(dir, 1, "\"auto\"");
  std::ofstream(path, std::ios::app) << "[auto_seeds]\n" << auto_table;
  return path;
}

TEST(RunCommand, AutoSeedsAddRoundsUntilTheMaximumWhileTheCiStaysWide) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto results = dir / "results";
  // No two runs have the same throughput to 1e-6 %, so the CI never gets that narrow.
  const auto suite = write_auto_suite(dir, "min = 2\nmax = 3\nmetric = \"throughput\"\nhalf_width = 1e-6\n");
  const auto r = run_cifarbench({"run", suite.string(), "--results", results.string()},
                                {"CIFARBENCH_GNUPLOT=/nonexistent/gnuplot"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("adding seed 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stopped at the maximum of 3 seeds"), std::string::npos) << r.out;
  const auto snap = load(results);
  ASSERT_EQ(snap.trials.size(), 3u);
  for (const auto& t : snap.trials) EXPECT_EQ(t.status, results::TrialStatus::completed) << t.key;
}

TEST(RunCommand, AutoSeedsStopAtTheMinimumWhenTheCiIsNarrowEnough) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto results = dir / "results";
  const auto suite = write_auto_suite(dir, "min = 2\nmax = 5\nmetric = \"accuracy\"\nhalf_width = 1000\n");
  const auto r = run_cifarbench({"run", suite.string(), "--results", results.string()},
                                {"CIFARBENCH_GNUPLOT=/nonexistent/gnuplot"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("within ±1000 points after 2 seeds"), std::string::npos) << r.out;
  EXPECT_EQ(load(results).trials.size(), 2u);
}

TEST(RunCommand, AutoSeedsRefuseAMaximumBelowTheMinimum) {
  TempDir dir;
  const auto r = run_cifarbench({"run", write_auto_suite(dir, "min = 4\nmax = 3\n").string(), "--dry-run"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("auto_seeds.max"), std::string::npos) << r.err;
}

TEST(RunCommand, KilledSuiteResumesWithNoEpochLostOrDuplicated) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto results = dir / "results";
  const auto suite = write_suite(dir, 6, "[1]", 512);
  const pid_t pid = start_cifarbench({"run", suite.string(), "--results", results.string()},
                                     dir / "first.log");
  ASSERT_TRUE(wait_for_epochs(results, 1, 120)) << "no epoch was stored";
  kill(pid, SIGKILL);  // the trial's process dies with it (PR_SET_PDEATHSIG)
  wait_exit(pid);
  const auto partial = load(results);
  ASSERT_EQ(partial.trials.size(), 1u);
  EXPECT_NE(partial.trials[0].status, results::TrialStatus::completed);

  const auto r = run_cifarbench({"run", suite.string(), "--results", results.string(), "--resume"},
                                {"CIFARBENCH_GNUPLOT=/nonexistent/gnuplot"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto snap = load(results);
  ASSERT_EQ(snap.trials.size(), 1u);
  EXPECT_EQ(snap.trials[0].status, results::TrialStatus::completed);
  ASSERT_EQ(snap.epochs.size(), 6u);
  for (int e = 0; e < 6; ++e) EXPECT_EQ(snap.epochs[static_cast<std::size_t>(e)].epoch, e + 1);
}

TEST(RunCommand, CtrlCMarksTheRunningTrialInterruptedAndExits130) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto results = dir / "results";
  const auto suite = write_suite(dir, 50, "[1, 2]", 512);
  const pid_t pid = start_cifarbench({"run", suite.string(), "--results", results.string()},
                                     dir / "run.log");
  ASSERT_TRUE(wait_for_epochs(results, 1, 120));
  kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid), 130);
  const auto snap = load(results);
  ASSERT_EQ(snap.trials.size(), 2u);
  EXPECT_EQ(snap.trials[0].status, results::TrialStatus::interrupted);
  EXPECT_EQ(snap.trials[1].status, results::TrialStatus::planned);
  // Resuming would re-run both; only completed trials are kept.
  const auto dry = run_cifarbench({"run", suite.string(), "--results", results.string(), "--resume", "--dry-run"});
  EXPECT_EQ(dry.exit_code, 0);
}

TEST(RunCommand, ATrialPastTheTimeLimitStopsItselfAsTimeoutAndKeepsItsEpochs) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto results = dir / "results";
  const auto suite = write_suite(dir, 500, "[1]");
  std::string text;
  {
    std::ifstream in(suite);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  text.replace(text.find("time_limit_s = 120"), 18, "time_limit_s = 3");
  std::ofstream(suite) << text;
  const auto r = run_cifarbench({"run", suite.string(), "--results", results.string()},
                                {"CIFARBENCH_GNUPLOT=/nonexistent/gnuplot"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("its finished epochs are kept"), std::string::npos) << r.out;
  const auto snap = load(results);
  ASSERT_EQ(snap.trials.size(), 1u);
  EXPECT_EQ(snap.trials[0].status, results::TrialStatus::timeout) << snap.trials[0].error;
  EXPECT_GT(snap.epochs.size(), 0u);
  EXPECT_LT(snap.epochs.size(), 500u);
}

// Issue 19: a results directory has one owner; resuming checks what produced the stored results.

TEST(RunCommand, ASecondRunOnTheSameResultsDirectoryExits2NamingTheHoldersPid) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto results = dir / "results";
  const auto owner = results::DirectoryLock::acquire(results);  // as a running `cifarbench run`
  const auto r = run_cifarbench({"run", write_suite(dir, 1, "[1]").string(), "--results", results.string()});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(fmt::format("in use by another cifarbench run (pid {}", getpid())), std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(results / "results.sqlite"));  // nothing was written
}

TEST(RunCommand, TheLockFileOfACrashedRunDoesNotBlockTheNextOne) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto results = dir / "results";
  std::filesystem::create_directories(results);
  std::ofstream(results / ".lock") << "999999\n";  // left by a run killed with SIGKILL
  const auto r = run_cifarbench({"run", write_suite(dir, 1, "[1]").string(), "--results", results.string()},
                                {"CIFARBENCH_GNUPLOT=/nonexistent/gnuplot"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(RunCommand, ResumeAfterTheSuiteChangedExits2NamingTheDifferences) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto results = dir / "results";
  ASSERT_EQ(run_cifarbench({"run", write_suite(dir, 2, "[1]").string(), "--results", results.string()},
                           {"CIFARBENCH_GNUPLOT=/nonexistent/gnuplot"}).exit_code, 0);
  const auto r = run_cifarbench({"run", write_suite(dir, 1, "[1]").string(), "--results",
                                 results.string(), "--resume"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("torch/tiny-cnn/r/seed=1: recipe.train.epochs: 2 → 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--restart-changed"), std::string::npos) << r.err;
  EXPECT_EQ(load(results).epochs.size(), 2u);  // the stored results are untouched
}

TEST(RunCommand, RestartChangedRunsTheChangedTrialsAgainFromScratch) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto results = dir / "results";
  ASSERT_EQ(run_cifarbench({"run", write_suite(dir, 2, "[1]").string(), "--results", results.string()},
                           {"CIFARBENCH_GNUPLOT=/nonexistent/gnuplot"}).exit_code, 0);
  const auto r = run_cifarbench({"run", write_suite(dir, 1, "[1]").string(), "--results",
                                 results.string(), "--resume", "--restart-changed"},
                                {"CIFARBENCH_GNUPLOT=/nonexistent/gnuplot"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto snap = load(results);
  ASSERT_EQ(snap.trials.size(), 1u);
  EXPECT_EQ(snap.trials[0].status, results::TrialStatus::completed);
  EXPECT_EQ(snap.epochs.size(), 1u);  // trained again under the new configuration only
}

TEST(RunCommand, ResumeWithTheSameSuiteKeepsTheCompletedTrials) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto results = dir / "results";
  const auto suite = write_suite(dir, 1, "[1]");
  ASSERT_EQ(run_cifarbench({"run", suite.string(), "--results", results.string()},
                           {"CIFARBENCH_GNUPLOT=/nonexistent/gnuplot"}).exit_code, 0);
  const auto r = run_cifarbench({"run", suite.string(), "--results", results.string(), "--resume"},
                                {"CIFARBENCH_GNUPLOT=/nonexistent/gnuplot"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("1 completed trial(s) kept"), std::string::npos) << r.out;
}

TEST(RunCommand, ATrialsStartIsStampedWhenItStarts) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto results = dir / "results";
  ASSERT_EQ(run_cifarbench({"run", write_suite(dir, 1, "[1]").string(), "--results", results.string()},
                           {"CIFARBENCH_GNUPLOT=/nonexistent/gnuplot"}).exit_code, 0);
  const auto snap = load(results);
  ASSERT_EQ(snap.trials.size(), 1u);
  EXPECT_FALSE(snap.trials[0].started.empty());
  EXPECT_LE(snap.trials[0].started, snap.trials[0].ended);
}

TEST(RunCommand, ADirectoryGivenAsTheSuiteIsRefusedSayingWhatASuiteFileIs) {
  TempDir dir;
  const auto r = run_cifarbench({"run", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("SUITE is a suite file"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("key 'matrix'"), std::string::npos) << r.err;
}

TEST(RunCommand, DryRunRefusesAnInvalidCustomModel) {
  TempDir dir;
  std::ofstream(dir / "bad.toml") << "name = \"bad\"\n[[layers]]\nname = \"fc\"\nop = \"linear\"\n"
                                     "out_features = 7\n";
  std::ofstream(dir / "suite.toml") << "dataset = \"synthetic\"\n[matrix]\nmodels = [\"bad.toml\"]\n";
  const auto r = run_cifarbench({"run", (dir / "suite.toml").string(), "--dry-run"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("bad.toml"), std::string::npos) << r.err;
}

TEST(RunCommand, ADataPathWithASyntheticSuiteExits2) {
  TempDir dir;
  const auto r = run_cifarbench({"run", write_suite(dir, 1, "[1]").string(), "--data", "/nonexistent",
                                 "--dry-run"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--data /nonexistent: suite"), std::string::npos) << r.err;
}

TEST(RunCommand, ASeedListedTwiceExits2) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto r = run_cifarbench({"run", write_suite(dir, 1, "[1, 1]").string(), "--dry-run"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("planned twice"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cb
