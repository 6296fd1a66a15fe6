// A suite with torch-py where one trial's worker is killed mid-epoch: that trial fails with the
// signal in its error and the suite goes on to complete the other.
#include <gtest/gtest.h>

#include <fstream>

#include "results/store.h"
#include "support/run_process.h"
#include "support/temp_dir.h"

namespace cb {
namespace {
using testing::run_cifarbench;
using testing::TempDir;

TEST(PythonSuite, AWorkerKilledMidEpochFailsItsTrialAndTheSuiteGoesOn) {
  TempDir dir;
  const auto suite = dir / "suite.toml";
  std::ofstream(suite) << "name = \"py-fault\"\ndataset = \"synthetic\"\n"
                       << "synthetic_train = 96\nsynthetic_test = 32\ntime_limit_s = 120\n"
                       << "[matrix]\nframeworks = [\"torch-py\"]\nmodels = [\"" << CIFARBENCH_SOURCE_DIR
                       << "/configs/models/tiny-cnn.toml\"]\nrecipes = [\"r\"]\nseeds = [1, 2]\nthreads = [1]\n"
                       << "[recipes.r.train]\nepochs = 1\nwarmup_steps = 1\n"
                       << "[recipes.r.optimizer]\nlr = 0.05\n[recipes.r.data]\nbatch_size = 32\n";
  const auto results = dir / "results";
  const auto r = run_cifarbench({"run", suite.string(), "--results", results.string(), "--python", "/usr/bin/python3"},
                                {"CIFARBENCH_GNUPLOT=/nonexistent/gnuplot", "CIFARBENCH_WORKER_FAULT=kill@train_step:2",
                                 "CIFARBENCH_WORKER_FAULT_ONCE=" + (dir / "faulted").string()});
  const auto snap = results::ResultsStore::open_for_reading(results).load();
  ASSERT_EQ(snap.trials.size(), 2u) << r.out << r.err;
  int failed = 0, completed = 0;
  for (const auto& t : snap.trials) {
    if (t.status == results::TrialStatus::failed) {
      ++failed;
      EXPECT_NE(t.error.find("killed by signal 9 (SIGKILL)"), std::string::npos) << t.error;
      EXPECT_NE(t.error.find("'train_step' failed"), std::string::npos) << t.error;
    } else if (t.status == results::TrialStatus::completed) {
      ++completed;
    }
  }
  EXPECT_EQ(failed, 1) << r.out << r.err;
  EXPECT_EQ(completed, 1) << r.out << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "faulted"));
}

}  // namespace
}  // namespace cb
