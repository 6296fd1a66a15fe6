// `cifarbench reference save|list|check` and `report --reference` on a real results directory:
// a tiny synthetic suite trained by `cifarbench run`, its own reference, and that reference
// edited upwards on purpose so the same trials fall far below it.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "support/require_backend.h"
#include "support/run_process.h"
#include "support/temp_dir.h"

namespace cb {
namespace {
using testing::run_cifarbench;
using testing::TempDir;

const std::string kTinyModel = std::string(CIFARBENCH_SOURCE_DIR) + "/configs/models/tiny-cnn.toml";
const std::string kGroup = "torch / tiny-cnn / r / synthetic (2 trials)";

// A results directory from a real suite run (2 seeds x 2 epochs), and a references directory.
struct TinyResults {
  TempDir dir;
  testing::ProcessResult run;
  TinyResults() {
    std::ofstream(dir / "suite.toml")
        << "name = \"tiny\"\ndataset = \"synthetic\"\nsynthetic_train = 128\nsynthetic_test = 64\n"
        << "time_limit_s = 120\n[matrix]\nframeworks = [\"torch\"]\nmodels = [\"" << kTinyModel
        << "\"]\nrecipes = [\"r\"]\nseeds = [1, 2]\nthreads = [1]\n"
        << "[recipes.r.train]\nepochs = 2\nwarmup_steps = 1\n[recipes.r.optimizer]\nlr = 0.05\n"
        << "[recipes.r.data]\nbatch_size = 32\n";
    run = run_cifarbench({"run", (dir / "suite.toml").string(), "--results", results()});
  }
  std::string results() const { return (dir / "results").string(); }
  std::filesystem::path refs() const { return dir / "refs"; }
  // Saves the suite's own reference under `name` in refs() and returns its file.
  std::filesystem::path save(const std::string& name) const {
    const auto r =
        run_cifarbench({"reference", "save", results(), "--name", name, "--out", refs().string()});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return refs() / (name + ".json");
  }
};

TEST(ReferenceCommand, SavedReferenceIsListedAndTheSameResultsPassIt) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TinyResults t;
  ASSERT_EQ(t.run.exit_code, 0) << t.run.out << t.run.err;
  const auto file = t.save("own");
  const auto j = nlohmann::json::parse(std::ifstream(file));
  EXPECT_EQ(j.at("format"), "cifarbench-reference");
  EXPECT_EQ(j.at("model"), "tiny-cnn");
  EXPECT_EQ(j.at("synthetic"), true);
  EXPECT_EQ(j.at("seeds"), (nlohmann::json{1, 2}));
  EXPECT_EQ(j.at("recipe_config").at("train").at("epochs"), 2);
  ASSERT_EQ(j.at("epochs").size(), 2u);
  EXPECT_EQ(j.at("epochs")[1].at("n"), 2);
  EXPECT_TRUE(j.at("machine").contains("cpu"));
  const std::string env = "CIFARBENCH_REFERENCES=" + t.refs().string();

  const auto list = run_cifarbench({"reference", "list"}, {env});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("own "), std::string::npos) << list.out;

  const auto check =
      run_cifarbench({"reference", "check", t.results(), "--reference", "own"}, {env});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find(kGroup + " vs own: pass (2 epochs matched"), std::string::npos)
      << check.out;

  const auto report = run_cifarbench({"report", t.results(), "--reference", file.string()});
  EXPECT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find("Reference check:"), std::string::npos) << report.out;
  EXPECT_NE(report.out.find(kGroup + " vs own: pass"), std::string::npos) << report.out;
}

TEST(ReferenceCommand, ResultsFarBelowAnEditedReferenceFailAtTheFirstEpoch) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TinyResults t;
  ASSERT_EQ(t.run.exit_code, 0) << t.run.out << t.run.err;
  const auto file = t.save("raised");
  auto j = nlohmann::json::parse(std::ifstream(file));
  for (auto& e : j.at("epochs")) {  // one perfect reference run: the half-point floor decides
    e["values"] = {1.0};
    e["n"] = 1;
    e["mean"] = 1.0;
    e["sd"] = nullptr;
  }
  std::ofstream(file) << j.dump(2);
  const auto r = run_cifarbench({"reference", "check", t.results(), "--reference", "raised"},
                                {"CIFARBENCH_REFERENCES=" + t.refs().string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find(kGroup + " vs raised: FAIL at epoch 1: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("trial torch/tiny-cnn/r/seed=1 fails alone at epoch 1"), std::string::npos)
      << r.out;
}

// The reference is read before the results: a bad one fails first, naming the file.
TEST(ReferenceCommand, AMissingOrCorruptReferenceIsBadInputNamingTheFile) {
  TempDir dir;
  const auto missing = run_cifarbench(
      {"reference", "check", dir.path().string(), "--reference", (dir / "nope.json").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope.json does not exist"), std::string::npos) << missing.err;
  const auto report =
      run_cifarbench({"report", dir.path().string(), "--reference", (dir / "nope.json").string()});
  EXPECT_EQ(report.exit_code, 2);
  EXPECT_NE(report.err.find("nope.json does not exist"), std::string::npos) << report.err;
  std::ofstream(dir / "corrupt.json") << "{\"format\": \"cifarbench-reference\", \"version\": 1}";
  const auto corrupt = run_cifarbench(
      {"reference", "check", dir.path().string(), "--reference", (dir / "corrupt.json").string()});
  EXPECT_EQ(corrupt.exit_code, 2);
  EXPECT_NE(corrupt.err.find("corrupt.json: missing field 'name'"), std::string::npos)
      << corrupt.err;
  std::ofstream(dir / "cut.json") << "{\"format\": ";
  const auto cut = run_cifarbench(
      {"reference", "check", dir.path().string(), "--reference", (dir / "cut.json").string()});
  EXPECT_EQ(cut.exit_code, 2);
  EXPECT_NE(cut.err.find("cut.json: not valid JSON"), std::string::npos) << cut.err;
}

}  // namespace
}  // namespace cb
