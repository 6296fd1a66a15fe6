// The suite planner asks each backend what it can run before any process starts, and the trial
// file carries every option of a trial to its child process.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "backends/backend.h"
#include "core/error.h"
#include "suite/slurm.h"
#include "suite/suite.h"
#include "suite/trial_file.h"
#include "support/temp_dir.h"

namespace cb::suite {
namespace {

// Available, single-process, and without bf16.
class NoBf16Backend final : public backends::Backend {
 public:
  backends::BackendInfo info() const override { return {"nobf16", "1", true, "", {{"cpu", "cpu"}}}; }
  std::optional<std::string> unsupported(const backends::ExecutionSettings& s) const override {
    if (s.precision == backends::MixedPrecision::bf16) return std::string("nobf16 has no bf16");
    return std::nullopt;
  }
  std::unique_ptr<backends::Trainer> create_trainer(const backends::TrainerConfig&) const override {
    throw Unsupported("not in this test");
  }
};

// Registered but not available on this machine (its library is missing).
class AbsentBackend final : public backends::Backend {
 public:
  backends::BackendInfo info() const override {
    return {"absentfw", "", false,
            "libabsent.so was not found; tried:\n  /opt/absent/libabsent.so: no such file\n"
            "To use absentfw, install it.",
            {}};
  }
  std::unique_ptr<backends::Trainer> create_trainer(const backends::TrainerConfig&) const override {
    throw Unsupported("not in this test");
  }
};

Suite suite_from(const std::string& text) {
  return parse_suite(toml::parse(text), "test-suite.toml", std::filesystem::current_path());
}

bool mentions(const std::vector<std::string>& lines, const std::string& needle) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

class Planner : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!backends::find_backend("nobf16")) backends::register_backend(std::make_unique<NoBf16Backend>());
    if (!backends::find_backend("absentfw")) backends::register_backend(std::make_unique<AbsentBackend>());
  }
};

TEST_F(Planner, LeavesOutATrialWhoseSettingsTheBackendCannotRunAndSaysWhy) {
  const Suite s = suite_from(R"(
[matrix]
frameworks = ["nobf16"]
models = ["simple-cnn"]
recipes = ["plain", "half"]
seeds = [1, 2]
[recipes.plain.train]
epochs = 1
[recipes.half.hardware]
precision = "bf16"
)");
  std::vector<std::string> skipped;
  const auto trials = plan_trials(s, &skipped);
  ASSERT_EQ(trials.size(), 2u);
  for (const auto& t : trials) EXPECT_EQ(t.recipe, "plain") << t.key;
  EXPECT_TRUE(mentions(skipped, "nobf16/simple-cnn/half/seed=1: skipped: nobf16 has no bf16"));
  EXPECT_TRUE(mentions(skipped, "nobf16/simple-cnn/half/seed=2: skipped: nobf16 has no bf16"));
}

TEST_F(Planner, LeavesOutDataParallelTrialsOfASingleProcessBackend) {
  const Suite s = suite_from(R"(
[matrix]
frameworks = ["nobf16"]
models = ["simple-cnn"]
seeds = [1]
processes = [1, 2]
)");
  std::vector<std::string> skipped;
  const auto trials = plan_trials(s, &skipped);
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].processes, 1);
  EXPECT_TRUE(mentions(skipped, "processes=2: skipped: nobf16 trains in one process only"));
}

TEST_F(Planner, APlannedTrialCarriesTheRecipesSettingsWithItsThreadsAndDevice) {
  const Suite s = suite_from(R"(
[matrix]
frameworks = ["nobf16"]
models = ["simple-cnn"]
recipes = ["cl"]
seeds = [1]
threads = [1, 2]
[recipes.cl.hardware]
channels_last = true
)");
  const auto trials = plan_trials(s, nullptr);
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_TRUE(trials[0].execution.channels_last);
  EXPECT_EQ(trials[0].execution.threads, 1);
  EXPECT_EQ(trials[1].execution.threads, 2);
  EXPECT_EQ(trials[1].execution.device, "cpu");
}

TEST_F(Planner, ASeedListedTwiceIsRefusedNamingTheKey) {
  const Suite s = suite_from(R"(
[matrix]
frameworks = ["nobf16"]
models = ["simple-cnn"]
seeds = [1, 1]
)");
  try {
    plan_trials(s, nullptr);
    FAIL() << "two trials with one key were planned";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("trial 'nobf16/simple-cnn/default/seed=1' is planned twice"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(Planner, ANamedFrameworkThatIsUnavailableIsLeftOutWithItsReason) {
  const Suite s = suite_from(R"(
[matrix]
frameworks = ["nobf16", "absentfw"]
models = ["simple-cnn"]
seeds = [1]
)");
  std::vector<std::string> skipped;
  const auto trials = plan_trials(s, &skipped);
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].framework, "nobf16");
  EXPECT_TRUE(mentions(skipped, "absentfw: unavailable: libabsent.so was not found"));
  EXPECT_TRUE(mentions(skipped, "/opt/absent/libabsent.so: no such file"));  // named: all of it
}

TEST_F(Planner, AvailableLeavesOutAnUnavailableFrameworkWithTheFirstLineOfItsReason) {
  const Suite s = suite_from(R"(
[matrix]
frameworks = ["available"]
models = ["simple-cnn"]
seeds = [1]
)");
  std::vector<std::string> skipped;
  plan_trials(s, &skipped);
  EXPECT_TRUE(mentions(skipped, "absentfw: unavailable: libabsent.so was not found; tried: … "
                                "(`cifarbench env` gives the whole reason)"));
  EXPECT_FALSE(mentions(skipped, "/opt/absent"));
  for (const auto& line : skipped) EXPECT_EQ(line.find('\n'), std::string::npos) << line;
}

TEST_F(Planner, AnInvalidCustomModelFailsLoadingTheSuite) {
  testing::TempDir dir;
  std::ofstream(dir / "bad.toml") << "name = \"bad\"\ninput = [3, 32, 32]\n[[layers]]\n"
                                     "name = \"fc\"\nop = \"linear\"\nout_features = 7\n";
  std::ofstream(dir / "suite.toml") << "[matrix]\nframeworks = [\"nobf16\"]\nmodels = [\"bad.toml\"]\n";
  try {
    load_suite(dir / "suite.toml");
    FAIL() << "an invalid custom model passed planning";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.toml"), std::string::npos) << e.what();
  }
}

PlannedTrial planned(const std::string& fw, std::uint64_t seed, int threads = 0) {
  PlannedTrial t;
  t.framework = fw;
  t.seed = seed;
  t.threads = threads;
  t.key = fw + "/simple-cnn/default/seed=" + std::to_string(seed) + "/threads=" + std::to_string(threads);
  return t;
}

std::vector<std::string> keys_of(const std::vector<PlannedTrial>& trials) {
  std::vector<std::string> keys;
  for (const auto& t : trials) keys.push_back(t.key);
  return keys;
}

// Two frameworks × two thread counts × three seeds, in the planner's (grid) order.
std::vector<PlannedTrial> grid_of_twelve() {
  std::vector<PlannedTrial> grid;
  for (const std::string fw : {"a", "b"})
    for (std::uint64_t seed : {1, 2, 3})
      for (int threads : {1, 2}) grid.push_back(planned(fw, seed, threads));
  return grid;
}

TEST(TrialOrder, InterleavedRunsOneSeedOfEveryConfigurationPerRound) {
  const auto ordered = order_trials(grid_of_twelve(), TrialOrder::interleaved, 7);
  ASSERT_EQ(ordered.size(), 12u);
  // Round r (trials 4r .. 4r+3) holds the r-th seed of all four configurations.
  for (std::size_t round = 0; round < 3; ++round) {
    std::set<std::string> configs;
    for (std::size_t i = 4 * round; i < 4 * round + 4; ++i) {
      EXPECT_EQ(ordered[i].seed, round + 1) << ordered[i].key;
      configs.insert(ordered[i].framework + std::to_string(ordered[i].threads));
    }
    EXPECT_EQ(configs.size(), 4u) << "round " << round;
  }
  // Nothing lost or duplicated.
  auto a = keys_of(ordered), b = keys_of(grid_of_twelve());
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  EXPECT_EQ(a, b);
}

TEST(TrialOrder, TheSeedDecidesTheShuffleAndRepeatsIt) {
  const auto first = keys_of(order_trials(grid_of_twelve(), TrialOrder::interleaved, 7));
  EXPECT_EQ(first, keys_of(order_trials(grid_of_twelve(), TrialOrder::interleaved, 7)));
  // Over a few seeds the rounds are not always in one fixed order (4! = 24 orders per round).
  std::set<std::vector<std::string>> orders;
  for (std::uint64_t seed = 0; seed < 8; ++seed) {
    orders.insert(keys_of(order_trials(grid_of_twelve(), TrialOrder::interleaved, seed)));
  }
  EXPECT_GT(orders.size(), 4u);
}

TEST(TrialOrder, GridKeepsThePlannersOrder) {
  EXPECT_EQ(keys_of(order_trials(grid_of_twelve(), TrialOrder::grid, 7)), keys_of(grid_of_twelve()));
}

TEST(TrialOrder, TheSuiteChoosesTheOrderAndRefusesAnUnknownOne) {
  EXPECT_EQ(suite_from("[matrix]\nmodels = [\"simple-cnn\"]\n").order, TrialOrder::interleaved);
  const Suite grid = suite_from("order = \"grid\"\norder_seed = 5\n[matrix]\nmodels = [\"simple-cnn\"]\n");
  EXPECT_EQ(grid.order, TrialOrder::grid);
  EXPECT_EQ(grid.order_seed, std::optional<std::uint64_t>(5));
  try {
    suite_from("order = \"random\"\n[matrix]\nmodels = [\"simple-cnn\"]\n");
    FAIL() << "an unknown order was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("order"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("grid"), std::string::npos) << e.what();
  }
}

TEST(TrialFile, RoundTripsEveryField) {
  testing::TempDir dir;
  TrialFile t;
  t.framework = "torch";
  t.model = "resnet20";
  t.recipe = dir / "recipe.toml";
  t.seed = 7;
  t.batch_size = 64;
  t.execution.threads = 2;
  t.execution.precision = backends::MixedPrecision::fp16;
  t.execution.deterministic = true;
  t.dataset = "synthetic";
  t.synthetic_train = 100;
  t.synthetic_test = 20;
  t.processes = 2;
  t.time_limit_s = 90;
  t.out_dir = dir.path();
  t.results_dir = dir / "results";
  t.suite_id = 3;
  t.key = "torch/resnet20/default/seed=7";
  write_trial_file(dir / "trial.json", t);
  const TrialFile back = read_trial_file(dir / "trial.json");
  EXPECT_EQ(to_json(back), to_json(t));
  EXPECT_EQ(back.execution, t.execution);
}

TEST(TrialFile, AMissingOrMistypedFieldIsRefusedNamingTheFileAndKey) {
  testing::TempDir dir;
  const TrialFile defaults;
  nlohmann::json j = to_json(defaults);
  j.erase("seed");
  std::ofstream(dir / "missing.json") << j.dump();
  j = to_json(defaults);
  j["processes"] = "two";
  std::ofstream(dir / "mistyped.json") << j.dump();
  try {
    read_trial_file(dir / "missing.json");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.json: missing key 'seed'"), std::string::npos) << e.what();
  }
  try {
    read_trial_file(dir / "mistyped.json");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("mistyped.json: key 'processes': wrong type"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace cb::suite

namespace cb::suite {
namespace {

TEST(ExecutorTable, ReadsTheSlurmOptions) {
  const Suite s = suite_from(R"(
[executor]
kind = "slurm"
partition = "gpu"
account = "proj1"
qos = "normal"
cpus_per_trial = 8
memory = "32G"
gpus_per_trial = 1
sbatch_args = ["--constraint=a100"]
max_in_flight = 4
[matrix]
models = ["simple-cnn"]
)");
  EXPECT_EQ(s.executor.kind, ExecutorKind::slurm);
  EXPECT_EQ(s.executor.slurm.partition, "gpu");
  EXPECT_EQ(s.executor.slurm.account, "proj1");
  EXPECT_EQ(s.executor.slurm.qos, "normal");
  EXPECT_EQ(s.executor.slurm.cpus_per_trial, 8);
  EXPECT_EQ(s.executor.slurm.memory, "32G");
  EXPECT_EQ(s.executor.slurm.gpus_per_trial, 1);
  EXPECT_EQ(s.executor.slurm.sbatch_args, std::vector<std::string>{"--constraint=a100"});
  EXPECT_EQ(s.executor.slurm.max_in_flight, 4);
  EXPECT_EQ(suite_from("[matrix]\nmodels = [\"simple-cnn\"]\n").executor.kind, ExecutorKind::local);
}

TEST(ExecutorTable, RefusesABadValueNamingTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"kind = \"pbs\"", "executor.kind"},
      {"memory = \"lots\"", "executor.memory"},
      {"sbatch_args = [\"constraint=a100\"]", "executor.sbatch_args"},
      {"gpus = 1", "executor.gpus"},
      {"max_in_flight = -1", "executor.max_in_flight"}};
  for (const auto& [line, key] : cases) {
    try {
      (void)suite_from("[executor]\n" + line + "\n[matrix]\nmodels = [\"simple-cnn\"]\n");
      ADD_FAILURE() << line << " was accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
}

TEST(SbatchScript, OneTaskExecsTheTrialAndManyTasksUseSrunWithARendezvousPort) {
  SlurmSettings settings;
  settings.partition = "gpu";
  settings.gpus_per_trial = 1;
  settings.sbatch_args = {"--time=5"};
  SlurmJobSpec job;
  job.name = "cifarbench:s:torch/resnet20/default/seed=1";
  job.work_dir = "/home/me/work dir";
  job.log = "/r/trials/x/slurm-%j.log";
  job.command = {"/opt/cifarbench", "train", "--trial", "/r/trials/x/trial.json"};
  job.threads = 4;
  job.time_limit_s = 3630;
  const std::string one = sbatch_script(settings, job);
  EXPECT_NE(one.find("#SBATCH --time=61\n"), std::string::npos) << one;
  EXPECT_LT(one.find("--time=61"), one.find("--time=5")) << "the extra arguments come last and win";
  EXPECT_NE(one.find("#SBATCH --chdir='/home/me/work dir'\n"), std::string::npos) << one;
  EXPECT_NE(one.find("#SBATCH --cpus-per-task=4\n"), std::string::npos) << one;
  EXPECT_NE(one.find("#SBATCH --gpus-per-task=1\n"), std::string::npos) << one;
  EXPECT_NE(one.find("#SBATCH --partition=gpu\n"), std::string::npos) << one;
  EXPECT_NE(one.find("exec /opt/cifarbench train --trial /r/trials/x/trial.json\n"), std::string::npos) << one;
  EXPECT_EQ(one.find("srun"), std::string::npos);
  job.tasks = 2;
  const std::string two = sbatch_script(settings, job);
  EXPECT_NE(two.find("#SBATCH --ntasks=2\n"), std::string::npos) << two;
  EXPECT_NE(two.find("export MASTER_PORT="), std::string::npos) << two;
  EXPECT_NE(two.find("srun --kill-on-bad-exit=1 /opt/cifarbench train"), std::string::npos) << two;
}

}  // namespace
}  // namespace cb::suite

namespace cb::suite {
namespace {

TEST_F(Planner, WithTheSlurmExecutorTheJobsNodeJudgesExecutionSettings) {
  const std::string text = R"(
[matrix]
frameworks = ["nobf16"]
models = ["simple-cnn"]
recipes = ["half"]
[recipes.half.hardware]
precision = "bf16"
)";
  EXPECT_TRUE(plan_trials(suite_from(text), nullptr).empty()) << "locally: left out (the backend says no)";
  const auto trials = plan_trials(suite_from("[executor]\nkind = \"slurm\"\n" + text), nullptr);
  ASSERT_EQ(trials.size(), 1u) << "a login node's answer is not the GPU node's";
  EXPECT_EQ(trials[0].recipe, "half");
}

}  // namespace
}  // namespace cb::suite
