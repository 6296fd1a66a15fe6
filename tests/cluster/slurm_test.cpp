// `cifarbench run --executor slurm` against a real Slurm: a single-node cluster on localhost
// (cluster/slurm_cluster.h), started once for this binary. Tiny synthetic suites with the tiny
// custom model; the machine has 2 CPUs, so at most two one-CPU jobs run at once.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cluster/slurm_cluster.h"
#include "results/store.h"
#include "support/require_backend.h"
#include "support/run_process.h"
#include "support/temp_dir.h"

namespace cb {
namespace {
using testing::start_cifarbench;
using testing::run_cifarbench;
using testing::run_process;
using testing::SlurmCluster;
using testing::TempDir;
namespace fs = std::filesystem;

const std::string kTinyModel = std::string(CIFARBENCH_SOURCE_DIR) + "/configs/models/tiny-cnn.toml";

SlurmCluster* cluster = nullptr;
std::string cluster_error;

class ClusterEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!SlurmCluster::unavailable_reason().empty()) return;
    try {
      cluster_ = std::make_unique<SlurmCluster>();
      cluster = cluster_.get();
    } catch (const std::exception& e) {
      cluster_error = e.what();
    }
  }
  void TearDown() override {
    cluster = nullptr;
    cluster_.reset();
  }

 private:
  std::unique_ptr<SlurmCluster> cluster_;
};

const auto* const environment = ::testing::AddGlobalTestEnvironment(new ClusterEnvironment);

class SlurmSuite : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = SlurmCluster::unavailable_reason(); !why.empty()) {
      GTEST_SKIP() << "cluster tests skipped: " << why;
    }
    ASSERT_NE(cluster, nullptr) << cluster_error;
    CIFARBENCH_REQUIRE_BACKEND("torch");
  }
  // A test that failed half-way may leave jobs (suspended, held, running): they must not
  // reach the next test, whose checks look at the whole queue.
  void TearDown() override {
    if (cluster != nullptr && SlurmCluster::unavailable_reason().empty()) run_process({"scancel", "--me"});
  }

  // A suite of `seeds` one-CPU trials as Slurm jobs on synthetic data; `extra` goes into
  // [executor], `matrix_extra` into [matrix].
  fs::path write_suite(const std::string& name, int epochs, const std::string& seeds,
                       const std::string& extra = "", const std::string& matrix_extra = "",
                       double time_limit_s = 300) const {
    const fs::path path = dir_ / (name + ".toml");
    std::ofstream(path) << "name = \"" << name << "\"\ndataset = \"synthetic\"\n"
                        << "synthetic_train = 128\nsynthetic_test = 64\n"
                        << "time_limit_s = " << time_limit_s << "\n"
                        << "[executor]\nkind = \"slurm\"\npoll_interval_s = 0.3\ncpus_per_trial = 1\n" << extra
                        << "[matrix]\nframeworks = [\"torch\"]\nmodels = [\"" << kTinyModel << "\"]\n"
                        << "recipes = [\"r\"]\nseeds = " << seeds << "\nthreads = [1]\n" << matrix_extra
                        << "[recipes.r.train]\nepochs = " << epochs << "\nwarmup_steps = 1\n"
                        << "[recipes.r.optimizer]\nlr = 0.05\n"
                        << "[recipes.r.data]\nbatch_size = 32\n";
    return path;
  }

  TempDir dir_;
};

results::ResultsSnapshot load(const fs::path& results) {
  return results::ResultsStore::open_for_reading(results).load();
}

const results::TrialRecord& trial_with(const results::ResultsSnapshot& s, const std::string& key_part) {
  for (const auto& t : s.trials) {
    if (t.key.find(key_part) != std::string::npos) return t;
  }
  throw std::runtime_error("no trial " + key_part);
}

std::size_t epochs_of(const results::ResultsSnapshot& s, std::int64_t trial_id) {
  std::size_t n = 0;
  for (const auto& e : s.epochs) n += e.trial_id == trial_id;
  return n;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string job_id_of(const fs::path& results, const std::string& dir_name) {
  std::string id;
  std::ifstream(results / "trials" / dir_name / "slurm-job") >> id;
  return id;
}

// Epochs result.json holds now (0 while absent).
std::size_t epochs_written(const fs::path& trial_dir) {
  std::ifstream in(trial_dir / "result.json");
  const auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("result") || !j["result"].contains("epochs")) return 0;
  return j["result"]["epochs"].size();
}

template <typename Condition>
bool wait_for(Condition done, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return done();
}

// Exit status of `pid`, waiting at most `seconds` (then killed: -1).
int wait_exit(pid_t pid, double seconds) {
  int status = 0;
  if (!wait_for([&] { return waitpid(pid, &status, WNOHANG) == pid; }, seconds)) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The names of every job this cluster knows (MinJobAge keeps ended ones), one per submission.
std::multiset<std::string> job_names() {
  const auto r = run_process({"squeue", "--me", "--noheader", "--states=all", "--format=%j"});
  std::multiset<std::string> names;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) names.insert(line);
  }
  return names;
}

TEST_F(SlurmSuite, FourTrialSuiteCompletesWithEveryEpochInTheDatabase) {
  const fs::path results = dir_ / "four";
  const auto r = run_cifarbench({"run", write_suite("four", 2, "[1, 2, 3, 4]").string(), "--results",
                                 results.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(count(r.out, "as Slurm job"), 4u) << r.out;
  const auto s = load(results);
  ASSERT_EQ(s.trials.size(), 4u);
  std::set<std::string> ids;
  for (const auto& t : s.trials) {
    EXPECT_EQ(t.status, results::TrialStatus::completed) << t.key << ": " << t.error;
    EXPECT_EQ(epochs_of(s, t.id), 2u) << t.key;
    EXPECT_TRUE(t.test_accuracy.has_value()) << t.key;
    EXPECT_FALSE(t.started.empty());
    EXPECT_FALSE(t.ended.empty());
    const std::string dir_name = "torch_tiny-cnn_r_seed_" + std::to_string(t.seed);
    ids.insert(job_id_of(results, dir_name));
    // The job was told not to open the shared database: it wrote its own files only.
    const auto trial = nlohmann::json::parse(read_all(results / "trials" / dir_name / "trial.json"));
    EXPECT_EQ(trial["results_dir"], "");
  }
  EXPECT_EQ(ids.size(), 4u) << "every trial its own job";
  EXPECT_EQ(job_names().count("cifarbench:four:torch/tiny-cnn/r/seed=3"), 1u);
}

TEST_F(SlurmSuite, ScancelOfOneJobIsRecordedAsCancelledAndTheRestComplete) {
  const fs::path results = dir_ / "cancel";
  const fs::path victim = results / "trials" / "torch_tiny-cnn_r_seed_1";
  const pid_t run = start_cifarbench({"run", write_suite("cancel", 20, "[1, 2, 3]").string(), "--results",
                                      results.string(), "--order", "grid"},
                                     dir_ / "cancel.log");
  ASSERT_TRUE(wait_for([&] { return epochs_written(victim) >= 1; }, 120)) << read_all(dir_ / "cancel.log");
  const std::string job = job_id_of(results, "torch_tiny-cnn_r_seed_1");
  ASSERT_EQ(run_process({"scancel", job}).exit_code, 0);
  ASSERT_EQ(wait_exit(run, 240), 1) << read_all(dir_ / "cancel.log");  // one trial did not complete
  const auto s = load(results);
  const auto& cancelled = trial_with(s, "seed=1");
  EXPECT_EQ(cancelled.status, results::TrialStatus::interrupted);
  EXPECT_NE(cancelled.error.find("cancelled"), std::string::npos) << cancelled.error;
  EXPECT_NE(cancelled.error.find("CANCELLED"), std::string::npos) << cancelled.error;
  EXPECT_GE(epochs_of(s, cancelled.id), 1u) << "its completed epochs are kept";
  EXPECT_LT(epochs_of(s, cancelled.id), 20u);
  for (const char* key : {"seed=2", "seed=3"}) {
    const auto& t = trial_with(s, key);
    EXPECT_EQ(t.status, results::TrialStatus::completed) << key << ": " << t.error;
    EXPECT_EQ(epochs_of(s, t.id), 20u) << key;
  }
}

TEST_F(SlurmSuite, KilledSubmitterResumesWithoutSubmittingAnyTrialTwice) {
  const fs::path results = dir_ / "resume";
  const fs::path suite = write_suite("resume", 12, "[1, 2, 3, 4]", "max_in_flight = 2\n");
  const pid_t run = start_cifarbench({"run", suite.string(), "--results", results.string(), "--order", "grid"},
                                     dir_ / "first.log");
  // Two jobs in flight, at least one epoch done: then the submitter dies without a word.
  ASSERT_TRUE(wait_for([&] {
    return epochs_written(results / "trials" / "torch_tiny-cnn_r_seed_1") >= 1 &&
           !job_id_of(results, "torch_tiny-cnn_r_seed_2").empty();
  }, 120)) << read_all(dir_ / "first.log");
  const std::string first_job = job_id_of(results, "torch_tiny-cnn_r_seed_1");
  const std::string second_job = job_id_of(results, "torch_tiny-cnn_r_seed_2");
  // Frozen at once (before the submitter is killed: a fast job could otherwise end in between),
  // the two jobs are still Slurm's when the resume looks, however fast they train: a running
  // job is suspended, one still pending is held. Each gets the command that undoes it.
  const auto freeze = [](const std::string& job) -> std::string {
    if (run_process({"scontrol", "suspend", job}).exit_code == 0) return "resume";
    if (run_process({"scontrol", "hold", job}).exit_code == 0) return "release";
    return "";
  };
  const std::string thaw_first = freeze(first_job), thaw_second = freeze(second_job);
  ASSERT_FALSE(thaw_first.empty() || thaw_second.empty())
      << "could not suspend or hold " << first_job << " and " << second_job << ":\n"
      << run_process({"squeue", "--me", "--states=all"}).out;
  kill(run, SIGKILL);
  waitpid(run, nullptr, 0);
  const pid_t resume = start_cifarbench({"run", suite.string(), "--results", results.string(), "--order", "grid",
                                         "--resume"},
                                        dir_ / "resume.log");
  const std::string attached = "re-attached to torch/tiny-cnn/r/seed=1 (Slurm job " + first_job + ")";
  EXPECT_TRUE(wait_for([&] { return read_all(dir_ / "resume.log").find(attached) != std::string::npos; }, 60))
      << read_all(dir_ / "resume.log");
  ASSERT_EQ(run_process({"scontrol", thaw_first, first_job}).exit_code, 0);
  ASSERT_EQ(run_process({"scontrol", thaw_second, second_job}).exit_code, 0);
  ASSERT_EQ(wait_exit(resume, 240), 0) << read_all(dir_ / "first.log") << read_all(dir_ / "resume.log");
  const std::string log = read_all(dir_ / "resume.log");
  EXPECT_NE(log.find("re-attached to torch/tiny-cnn/r/seed=2 (Slurm job " + second_job + ")"), std::string::npos) << log;
  EXPECT_EQ(count(log, "as Slurm job"), 2u) << "only seeds 3 and 4 are submitted: " << log;
  EXPECT_EQ(job_id_of(results, "torch_tiny-cnn_r_seed_1"), first_job);
  const auto names = job_names();
  for (int seed = 1; seed <= 4; ++seed) {
    EXPECT_EQ(names.count("cifarbench:resume:torch/tiny-cnn/r/seed=" + std::to_string(seed)), 1u)
        << "seed " << seed << " submitted once";
  }
  const auto s = load(results);
  ASSERT_EQ(s.trials.size(), 4u);
  for (const auto& t : s.trials) {
    EXPECT_EQ(t.status, results::TrialStatus::completed) << t.key << ": " << t.error;
    EXPECT_EQ(epochs_of(s, t.id), 12u) << t.key;
  }
}

TEST_F(SlurmSuite, CtrlCWithoutATerminalCancelsTheSuitesJobs) {
  const fs::path results = dir_ / "ctrlc";
  const fs::path first = results / "trials" / "torch_tiny-cnn_r_seed_1";
  const pid_t run = start_cifarbench({"run", write_suite("ctrlc", 200, "[1, 2]").string(), "--results",
                                      results.string(), "--order", "grid"},
                                     dir_ / "ctrlc.log");
  ASSERT_TRUE(wait_for([&] { return epochs_written(first) >= 1; }, 120)) << read_all(dir_ / "ctrlc.log");
  kill(run, SIGINT);
  EXPECT_EQ(wait_exit(run, 60), 130) << read_all(dir_ / "ctrlc.log");
  const std::string log = read_all(dir_ / "ctrlc.log");
  EXPECT_NE(log.find("cancelled 2 Slurm job(s)"), std::string::npos) << log;
  // Slurm no longer runs them.
  ASSERT_TRUE(wait_for([] { return run_process({"squeue", "--me", "--noheader"}).out.empty(); }, 30));
  const auto s = load(results);
  for (const auto& t : s.trials) {
    EXPECT_EQ(t.status, results::TrialStatus::interrupted) << t.key;
    EXPECT_NE(t.error.find("cancelled by Ctrl-C"), std::string::npos) << t.error;
  }
  EXPECT_GE(epochs_of(s, trial_with(s, "seed=1").id), 1u) << "its epochs so far are kept";
}

TEST_F(SlurmSuite, CollectImportsWhatJobsWroteAfterTheSubmitterDied) {
  const fs::path results = dir_ / "collect";
  const pid_t run = start_cifarbench({"run", write_suite("collect", 3, "[1, 2]").string(), "--results",
                                      results.string()},
                                     dir_ / "collect.log");
  ASSERT_TRUE(wait_for([&] {
    return !job_id_of(results, "torch_tiny-cnn_r_seed_1").empty() && !job_id_of(results, "torch_tiny-cnn_r_seed_2").empty();
  }, 60)) << read_all(dir_ / "collect.log");
  kill(run, SIGKILL);
  waitpid(run, nullptr, 0);
  ASSERT_TRUE(wait_for([] { return run_process({"squeue", "--me", "--noheader"}).out.empty(); }, 120));
  const auto before = load(results);
  for (const auto& t : before.trials) EXPECT_NE(t.status, results::TrialStatus::completed) << "nobody imported yet";
  const auto r = run_cifarbench({"collect", results.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("2 completed"), std::string::npos) << r.out;
  const auto s = load(results);
  for (const auto& t : s.trials) {
    EXPECT_EQ(t.status, results::TrialStatus::completed) << t.key << ": " << t.error;
    EXPECT_EQ(epochs_of(s, t.id), 3u) << t.key;
  }
  const auto missing = run_cifarbench({"collect", (dir_ / "nothing-here").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nothing-here"), std::string::npos) << missing.err;
}

TEST_F(SlurmSuite, JobOverItsTimeLimitIsRecordedWithSlurmsReasonAndItsEpochsKept) {
  // Slurm's limits are whole minutes: --time=1 (after the suite's limit, so it wins) stops a
  // trial of many epochs that would not stop itself before its own, larger limit.
  const fs::path results = dir_ / "limit";
  const auto r = run_cifarbench({"run", write_suite("limit", 100000, "[1]", "sbatch_args = [\"--time=1\"]\n").string(),
                                 "--results", results.string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const auto s = load(results);
  ASSERT_EQ(s.trials.size(), 1u);
  const auto& t = s.trials[0];
  EXPECT_EQ(t.status, results::TrialStatus::timeout) << t.error;
  EXPECT_NE(t.error.find("time limit"), std::string::npos) << t.error;
  EXPECT_NE(t.error.find("TIMEOUT"), std::string::npos) << t.error;
  EXPECT_GE(epochs_of(s, t.id), 1u) << "the epochs it completed are kept";
}

TEST_F(SlurmSuite, DataParallelTrialRunsAsOneTwoTaskJob) {
  const fs::path results = dir_ / "dp";
  const auto r = run_cifarbench({"run", write_suite("dp", 2, "[1]", "", "processes = [2]\n").string(), "--results",
                                 results.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto s = load(results);
  ASSERT_EQ(s.trials.size(), 1u);
  EXPECT_EQ(s.trials[0].status, results::TrialStatus::completed) << s.trials[0].error;
  EXPECT_EQ(epochs_of(s, s.trials[0].id), 2u);
  const fs::path trial = results / "trials" / "torch_tiny-cnn_r_seed_1";
  EXPECT_TRUE(fs::exists(trial / "rank-1.json")) << "rank 1 ran in the same job";
  const auto result = nlohmann::json::parse(read_all(trial / "result.json"));
  EXPECT_EQ(result["result"]["world_size"], 2);
  const auto job = run_process({"scontrol", "--oneliner", "show", "job", job_id_of(results, "torch_tiny-cnn_r_seed_1")});
  EXPECT_NE(job.out.find("NumTasks=2"), std::string::npos) << job.out;
  EXPECT_NE(read_all(trial / "job.sbatch").find("srun "), std::string::npos);
}

TEST_F(SlurmSuite, DryRunPrintsTheSbatchScripts) {
  const auto r = run_cifarbench({"run", write_suite("dry", 2, "[1, 2]", "partition = \"debug\"\nmemory = \"1G\"\n").string(),
                                 "--results", (dir_ / "dry").string(), "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count(r.out, "#!/bin/bash"), 2u) << r.out;
  EXPECT_NE(r.out.find("#SBATCH --partition=debug"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("#SBATCH --mem=1G"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("#SBATCH --time=6"), std::string::npos) << r.out;  // 300 s + 30 s margin
  EXPECT_FALSE(fs::exists(dir_ / "dry" / "results.sqlite")) << "a dry run submits and writes nothing";
  EXPECT_TRUE(job_names().count("cifarbench:dry:torch/tiny-cnn/r/seed=1") == 0);
}

}  // namespace
}  // namespace cb
