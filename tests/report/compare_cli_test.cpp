// `cifarbench compare` as a real child process on constructed results: exit status 1 on a
// regression beyond the threshold, 0 on the same results, 2 on bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "results/sample_results.h"
#include "support/require_backend.h"
#include "support/run_process.h"

namespace cb {
namespace {
using testing::PlausibleStudy;
using testing::run_cifarbench;
using testing::TempDir;

// torch (framework 0) trains at 1000 images/s, dlib at 1400: torch's training time is 1.4x.
void fill(const std::filesystem::path& dir, const PlausibleStudy& spec) {
  auto store = results::ResultsStore::open(dir);
  testing::fill_plausible_results(store, spec);
}

PlausibleStudy five_seeds() {
  PlausibleStudy spec;
  spec.seeds = 5;
  return spec;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(CompareCommand, SameResultsAgainstThemselvesExit0) {
  TempDir tmp;
  fill(tmp.path(), five_seeds());
  const auto r = run_cifarbench({"compare", tmp.path().string(), tmp.path().string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "Verdict")) << r.out;
  EXPECT_TRUE(contains(r.out, "NEW torch vs BASE torch")) << r.out;
  EXPECT_TRUE(contains(r.out, "Training time equivalent within ±5 %")) << r.out;
  EXPECT_TRUE(contains(r.out, "Result: no metric is significantly worse")) << r.out;
}

TEST(CompareCommand, SlowerGroupExits1NamingTheMetric) {
  TempDir tmp;
  fill(tmp.path(), five_seeds());
  const auto r = run_cifarbench(
      {"compare", tmp.path().string(), "--a", "framework=torch", "--b", "framework=dlib"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "torch trains resnet20 1.40× slower than dlib")) << r.out;
  EXPECT_TRUE(contains(r.out, "Training time (torch vs dlib")) << r.out;
  // The other way round dlib is faster, but the fixture gives it 1 point less accuracy: worse
  // beyond +-0.5 points, and no longer worse once the accuracy threshold is 2 points.
  const auto back = run_cifarbench(
      {"compare", tmp.path().string(), "--a", "framework=dlib", "--b", "framework=torch"});
  EXPECT_EQ(back.exit_code, 1) << back.out << back.err;
  EXPECT_TRUE(contains(back.out, "dlib trains resnet20 1.40× faster than torch")) << back.out;
  EXPECT_TRUE(contains(back.out, "worse beyond the threshold: Test accuracy")) << back.out;
  const auto lenient = run_cifarbench({"compare", tmp.path().string(), "--a", "framework=dlib",
                                       "--b", "framework=torch", "--accuracy-threshold", "2"});
  EXPECT_EQ(lenient.exit_code, 0) << lenient.out << lenient.err;
}

TEST(CompareCommand, AWiderThresholdAcceptsTheSameDifference) {
  TempDir tmp;
  fill(tmp.path(), five_seeds());
  const auto r = run_cifarbench({"compare", tmp.path().string(), "--a", "framework=torch", "--b",
                                 "framework=dlib", "--time-threshold", "50"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "±50 %")) << r.out;
}

TEST(CompareCommand, ThreeSeedsSayWhyTheyCannotConclude) {
  TempDir tmp;
  fill(tmp.path(), {});
  const auto r = run_cifarbench(
      {"compare", tmp.path().string(), "--a", "framework=torch", "--b", "framework=dlib"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "cannot go below 0.100")) << r.out;
}

TEST(CompareCommand, JsonOpensWithTheVerdictAndWritesToOut) {
  TempDir tmp;
  fill(tmp.path() / "r", five_seeds());
  const auto out = tmp.path() / "compare.json";
  const auto r =
      run_cifarbench({"compare", (tmp.path() / "r").string(), "--a", "framework=torch", "--b",
                      "framework=dlib", "--format", "json", "--out", out.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str().rfind("{\n  \"verdict\"", 0), 0u) << text.str().substr(0, 80);
  const auto doc = nlohmann::json::parse(text.str());
  EXPECT_TRUE(doc["worse"].get<bool>());
  const auto& metrics = doc["verdict"][0]["metrics"];
  bool saw_time = false;
  for (const auto& m : metrics) {
    if (m["metric"] != "training_time") continue;
    saw_time = true;
    EXPECT_EQ(m["verdict"], "worse");
    EXPECT_EQ(m["test"], "Mann-Whitney U");
    EXPECT_TRUE(m["seeds_needed"].is_number());
  }
  EXPECT_TRUE(saw_time);
}

TEST(CompareCommand, BadInputExits2NamingWhatIsWrong) {
  TempDir tmp;
  fill(tmp.path(), {});
  const std::string dir = tmp.path().string();
  const auto bad_key =
      run_cifarbench({"compare", dir, "--a", "frame=torch", "--b", "framework=dlib"});
  EXPECT_EQ(bad_key.exit_code, 2);
  EXPECT_TRUE(contains(bad_key.err, "--a frame=torch")) << bad_key.err;
  const auto no_match =
      run_cifarbench({"compare", dir, "--a", "framework=tensorflow", "--b", "framework=dlib"});
  EXPECT_EQ(no_match.exit_code, 2);
  EXPECT_TRUE(contains(no_match.err, "framework 'tensorflow'")) << no_match.err;
  const auto alone = run_cifarbench({"compare", dir});
  EXPECT_EQ(alone.exit_code, 2);
  EXPECT_TRUE(contains(alone.err, "two results directories")) << alone.err;
  const auto missing = run_cifarbench({"compare", dir, (tmp.path() / "nothing").string()});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  const auto format = run_cifarbench({"compare", dir, dir, "--format", "html"});
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_TRUE(contains(format.err, "console, md, json")) << format.err;
}

// A suite of real torch trials on tiny synthetic data: recipe "good" learns, recipe "broken" has
// a learning rate of 0 (a pipeline broken on purpose), 3 seeds each.
std::filesystem::path write_real_suite(const std::filesystem::path& dir) {
  const auto path = dir / "suite.toml";
  const std::string model = std::string(CIFARBENCH_SOURCE_DIR) + "/configs/models/tiny-cnn.toml";
  std::ofstream(path) << "name = \"compare-check\"\ndataset = \"synthetic\"\n"
                      << "synthetic_train = 256\nsynthetic_test = 128\ntime_limit_s = 120\n"
                      << "[matrix]\nframeworks = [\"torch\"]\nmodels = [\"" << model << "\"]\n"
                      << "recipes = [\"good\", \"broken\"]\nseeds = [1, 2, 3]\nthreads = [1]\n"
                      << "[recipes.good.train]\nepochs = 2\nwarmup_steps = 1\n"
                      << "[recipes.good.optimizer]\nlr = 0.05\n"
                      << "[recipes.good.data]\nbatch_size = 32\n"
                      << "[recipes.broken.train]\nepochs = 2\nwarmup_steps = 1\n"
                      << "[recipes.broken.optimizer]\nlr = 0.0\n"
                      << "[recipes.broken.data]\nbatch_size = 32\n";
  return path;
}

// Real child processes end to end. Timing on a shared machine is noise, so the time threshold
// is set out of reach (1000 %) and the exit status rests on accuracy, which the seeds fix.
TEST(CompareCommand, RealRunsExit1OnABrokenRecipeAnd0OnARerunOfTheSameOne) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir tmp;
  const auto suite = write_real_suite(tmp.path());
  const auto first = tmp.path() / "first";
  const auto again = tmp.path() / "again";
  ASSERT_EQ(run_cifarbench({"run", suite.string(), "--results", first.string()}).exit_code, 0);
  ASSERT_EQ(run_cifarbench({"run", suite.string(), "--results", again.string(), "--only", "/good/"})
                .exit_code,
            0);
  const auto broken = run_cifarbench({"compare", first.string(), "--a", "recipe=broken", "--b",
                                      "recipe=good", "--time-threshold", "1000"});
  EXPECT_EQ(broken.exit_code, 1) << broken.out << broken.err;
  EXPECT_TRUE(contains(broken.out, "worse beyond the threshold: Test accuracy")) << broken.out;
  const auto rerun =
      run_cifarbench({"compare", first.string(), again.string(), "--time-threshold", "1000"});
  EXPECT_EQ(rerun.exit_code, 0) << rerun.out << rerun.err;
  EXPECT_TRUE(contains(rerun.out, "NEW torch vs BASE torch: tiny-cnn, good")) << rerun.out;
  EXPECT_TRUE(contains(rerun.out, "not compared: BASE torch tiny-cnn broken")) << rerun.out;
}

}  // namespace
}  // namespace cb
