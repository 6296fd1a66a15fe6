// The suite planner asks each backend what it can run before any process starts, and the trial
// file carries every option of a trial to its child process.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "backends/backend.h"
#include "core/error.h"
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
    return {"absentfw", "", false, "libabsent.so was not found", {}};
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
