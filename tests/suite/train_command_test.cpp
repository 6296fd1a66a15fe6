// `cifarbench train`, run as a real child process on small synthetic data.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <tuple>
#include <utility>

#include "support/require_backend.h"
#include "support/run_process.h"
#include "support/temp_dir.h"

namespace cb {
namespace {
using testing::run_cifarbench;
using testing::TempDir;

const std::string kTinyModel = std::string(CIFARBENCH_SOURCE_DIR) + "/configs/models/tiny-cnn.toml";

std::vector<std::string> tiny_train(const std::filesystem::path& out, const std::string& seed) {
  return {"train", "--framework", "torch", "--model", kTinyModel, "--dataset", "synthetic",
          "--synthetic-train", "256", "--synthetic-test", "64", "--batch-size", "32",
          "--epochs", "2", "--threads", "1", "--seed", seed, "--lr", "0.05",
          "--telemetry-hz", "20", "--out", out.string()};
}

nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

TEST(TrainCommand, UnknownFrameworkExits2AndListsTheValidOnes) {
  TempDir dir;
  const auto r = run_cifarbench({"train", "--framework", "caffe", "--dataset", "synthetic",
                                 "--out", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("caffe"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("torch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("dlib"), std::string::npos) << r.err;
}

TEST(TrainCommand, UnknownModelExits2AndListsTheZoo) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto r = run_cifarbench({"train", "--model", "resnet1000", "--dataset", "synthetic",
                                 "--synthetic-train", "64", "--synthetic-test", "16",
                                 "--out", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("resnet1000"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("resnet20"), std::string::npos) << r.err;
}

TEST(TrainCommand, OutOfRangeFlagExits2NamingIt) {
  const auto r = run_cifarbench({"train", "--epochs", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE((r.out + r.err).find("--epochs"), std::string::npos) << r.out << r.err;
}

TEST(TrainCommand, MissingRealDataExits2ListingTheWaysToProvideIt) {
  CIFARBENCH_REQUIRE_BACKEND("torch");  // the default framework
  TempDir dir;
  const auto r = run_cifarbench({"train", "--data", (dir / "nothing-here").string(), "--out",
                                 (dir / "out").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("nothing-here"), std::string::npos) << r.err;
}

TEST(TrainCommand, UnavailableFrameworkExits2WithTheReason) {
  TempDir dir;
  const auto r = run_cifarbench({"train", "--framework", "tensorflow", "--dataset", "synthetic",
                                 "--out", dir.path().string()},
                                {"CIFARBENCH_TF_LIB=/nonexistent/libtensorflow.so.2"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/libtensorflow.so.2"), std::string::npos) << r.err;
}

TEST(TrainCommand, WritesTheResultAfterEveryEpochWithTheSyntheticLabel) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto r = run_cifarbench(tiny_train(dir / "a", "3"));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("epoch   2/2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("synthetic"), std::string::npos) << r.out;
  const auto doc = read_json(dir / "a" / "result.json");
  const auto& result = doc["result"];
  EXPECT_EQ(result["status"], "completed");
  EXPECT_TRUE(result["synthetic_data"].get<bool>());
  ASSERT_EQ(result["epochs"].size(), 2u);
  EXPECT_EQ(result["training_images"].get<int>(), 2 * 256);
  EXPECT_GT(result["training_time_s"].get<double>(), 0.0);
  EXPECT_GE(result["wall_time_s"].get<double>(), result["training_time_s"].get<double>());
  EXPECT_TRUE(result["test_accuracy"].is_number());
  EXPECT_TRUE(doc["environment"].contains("cpu"));
  // The trial records its own framework only (probing every Python framework costs seconds).
  ASSERT_EQ(doc["environment"]["backends"].size(), 1u);
  EXPECT_EQ(doc["environment"]["backends"][0]["name"], "torch");
  // No GPU here: GPU fields say why instead of reporting zeros.
  EXPECT_TRUE(result["telemetry"]["gpu_utilization_mean_percent"].is_null());
  EXPECT_FALSE(result["telemetry"]["gpu_unavailable_reason"].is_null());
}

TEST(TrainCommand, SameSeedGivesIdenticalLossSequences) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  ASSERT_EQ(run_cifarbench(tiny_train(dir / "a", "5")).exit_code, 0);
  ASSERT_EQ(run_cifarbench(tiny_train(dir / "b", "5")).exit_code, 0);
  ASSERT_EQ(run_cifarbench(tiny_train(dir / "c", "6")).exit_code, 0);
  const auto a = read_json(dir / "a" / "result.json")["result"]["epochs"];
  const auto b = read_json(dir / "b" / "result.json")["result"]["epochs"];
  const auto c = read_json(dir / "c" / "result.json")["result"]["epochs"];
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["train_loss"].get<double>(), b[i]["train_loss"].get<double>()) << i;
    EXPECT_EQ(a[i]["test_accuracy"].get<double>(), b[i]["test_accuracy"].get<double>()) << i;
  }
  EXPECT_NE(a[0]["train_loss"].get<double>(), c[0]["train_loss"].get<double>());
}

TEST(TrainCommand, RecipeFileIsReadAndBadKeysAreRefusedByName) {
  TempDir dir;
  {
    std::ofstream(dir / "bad.toml") << "[optimizer]\nlr = 0.1\nmomentun = 0.9\n";
  }
  const auto r = run_cifarbench({"train", "--recipe", (dir / "bad.toml").string(), "--dataset",
                                 "synthetic", "--out", (dir / "o").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("optimizer.momentun"), std::string::npos) << r.err;
}

TEST(TrainCommand, CheckpointThenResumeContinuesAfterTheLastEpoch) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  auto args = tiny_train(dir / "r", "7");
  args.push_back("--checkpoint");
  ASSERT_EQ(run_cifarbench(args).exit_code, 0);
  // Ask for one more epoch: the resumed run starts after epoch 2.
  for (auto& a : args) {
    if (a == "2") a = "3";
  }
  args.push_back("--resume");
  const auto r = run_cifarbench(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("resuming"), std::string::npos) << r.err;
  const auto epochs = read_json(dir / "r" / "result.json")["result"]["epochs"];
  ASSERT_EQ(epochs.size(), 3u);
  EXPECT_EQ(epochs[2]["epoch"].get<int>(), 3);
}

TEST(TrainCommand, TrialFileRunsTheTrialItDescribes) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  std::ofstream(dir / "recipe.toml") << "[train]\nepochs = 2\nwarmup_steps = 1\n[optimizer]\nlr = 0.05\n"
                                     << "[data]\nbatch_size = 32\n";
  nlohmann::json trial = {{"framework", "torch"}, {"model", kTinyModel},
                          {"recipe", (dir / "recipe.toml").string()}, {"seed", 4}, {"batch_size", 0},
                          {"execution", {{"threads", 1}, {"device", "cpu"}, {"precision", "off"},
                                         {"channels_last", false}, {"deterministic", false},
                                         {"autotune", false}, {"xla", false}}},
                          {"dataset", "synthetic"}, {"data_path", ""}, {"synthetic_train", 128},
                          {"synthetic_test", 32}, {"processes", 1}, {"time_limit_s", 600},
                          {"out_dir", (dir / "out").string()}, {"results_dir", ""}, {"suite_id", 0},
                          {"key", "k"}};
  std::ofstream(dir / "trial.json") << trial.dump();
  const auto r = run_cifarbench({"train", "--trial", (dir / "trial.json").string(), "--step-log",
                                 (dir / "steps.csv").string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto result = read_json(dir / "out" / "result.json");
  EXPECT_EQ(result["config"]["seed"], 4);
  EXPECT_EQ(result["config"]["time_limit_s"], 600.0);
  EXPECT_EQ(result["result"]["epochs"].size(), 2u);
  EXPECT_EQ(result["result"]["steps"], 8);  // 128 images in batches of 32, two epochs
  std::ifstream steps(dir / "steps.csv");
  std::string line;
  int lines = 0;
  while (std::getline(steps, line)) ++lines;
  EXPECT_EQ(lines, 1 + 8);  // the header and a line a step
}

TEST(TrainCommand, TrialFileCannotBeCombinedWithOtherOptions) {
  TempDir dir;
  std::ofstream(dir / "trial.json") << "{}";
  const auto r = run_cifarbench({"train", "--trial", (dir / "trial.json").string(), "--seed", "3"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--trial: --seed cannot be combined with it"), std::string::npos) << r.err;
}

TEST(TrainCommand, TimeLimitStopsTheTrialAsTimeoutKeepingItsEpochs) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  auto args = tiny_train(dir / "out", "1");
  *(std::find(args.begin(), args.end(), "--epochs") + 1) = "50";  // far more than fits the limit
  args.insert(args.end(), {"--time-limit", "1.5"});
  const auto r = run_cifarbench(args);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const auto result = read_json(dir / "out" / "result.json");
  EXPECT_EQ(result["result"]["status"], "timeout");
  EXPECT_NE(result["result"]["error"].get<std::string>().find("time limit of 1.5 s"), std::string::npos);
  EXPECT_LT(result["result"]["epochs"].size(), 50u);
}

// Issue 19: `train --resume` continues only what the same configuration produced.

// Trains 2 epochs of tiny_train(seed 7) with a checkpoint into dir/r; returns the arguments.
std::vector<std::string> checkpointed(const TempDir& dir) {
  auto args = tiny_train(dir / "r", "7");
  args.push_back("--checkpoint");
  EXPECT_EQ(run_cifarbench(args).exit_code, 0);
  args.push_back("--resume");
  return args;
}

void replace_value(std::vector<std::string>& args, const std::string& flag, const std::string& value) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag) args[i + 1] = value;
  }
}

TEST(TrainCommand, ResumeWithAnotherSeedBatchSizeLearningRateOrDatasetSizeExits2NamingIt) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto args = checkpointed(dir);
  const std::vector<std::tuple<std::string, std::string, std::string>> changes = {
      {"--seed", "8", "seed: 7 → 8"},
      {"--batch-size", "16", "recipe.pipeline.data.batch_size: 32 → 16"},
      {"--lr", "0.1", "recipe.optimizer.lr: 0.05 → 0.1"},
      {"--synthetic-train", "128", "synthetic.train: 256 → 128"}};
  for (const auto& [flag, value, expected] : changes) {
    auto changed = args;
    replace_value(changed, flag, value);
    const auto r = run_cifarbench(changed);
    EXPECT_EQ(r.exit_code, 2) << flag << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << flag << ": " << r.err;
    EXPECT_NE(r.err.find("state.json"), std::string::npos) << r.err;
  }
}

TEST(TrainCommand, ResumeWithAnotherDatasetExits2NamingIt) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto cifar = dir / "cifar";  // a small real CIFAR-10 directory: 5 × 8 training images
  std::filesystem::create_directories(cifar);
  for (const std::string name : {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                 "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"}) {
    std::string records;
    for (int r = 0; r < 8; ++r) {
      records += static_cast<char>(r % 10);
      records += std::string(3072, static_cast<char>(r * 29));
    }
    std::ofstream(cifar / name, std::ios::binary) << records;
  }
  auto args = checkpointed(dir);
  std::vector<std::string> real;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--synthetic-train" || args[i] == "--synthetic-test") {
      ++i;
      continue;
    }
    real.push_back(args[i]);
  }
  replace_value(real, "--dataset", "cifar10");
  real.insert(real.end(), {"--data", cifar.string()});
  const auto r = run_cifarbench(real);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("dataset: \"synthetic\" → \"cifar10\""), std::string::npos) << r.err;
}

TEST(TrainCommand, RestartChangedStartsAfreshWhenTheCheckpointDiffers) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  auto args = checkpointed(dir);
  replace_value(args, "--seed", "8");
  args.push_back("--restart-changed");
  const auto r = run_cifarbench(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = read_json(dir / "r" / "result.json");
  EXPECT_EQ(doc["result"]["epochs"].size(), 2u);
  EXPECT_EQ(doc["config"]["seed"].get<int>(), 8);
}

TEST(TrainCommand, ACheckpointEpochCounterPastEpochsIsRefused) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto args = checkpointed(dir);
  const auto state_path = dir / "r" / "checkpoint" / "state.json";
  auto state = read_json(state_path);
  state["epoch"] = 9;  // edited: nothing would be trained, and "completed" reported
  std::ofstream(state_path) << state.dump();
  const auto r = run_cifarbench(args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("state.json: field 'epoch' is 9"), std::string::npos) << r.err;
}

TEST(TrainCommand, AMalformedCheckpointStateIsRefusedNamingTheFileAndField) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto args = checkpointed(dir);
  const auto state_path = dir / "r" / "checkpoint" / "state.json";
  auto state = read_json(state_path);
  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::string>>{
           {"{}", "state.json: field 'epoch' is missing"},
           {"[1, 2]", "state.json: unreadable checkpoint state"},
           {"{\"epoch\": \"one\"}", "state.json: field 'epoch' is \"one\"; expected an integer"}}) {
    std::ofstream(state_path) << text;
    const auto r = run_cifarbench(args);
    EXPECT_EQ(r.exit_code, 2) << text << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << text << ": " << r.err;
  }
}

TEST(TrainCommand, ACheckpointWeightsPathThatIsADirectoryIsRefusedNamingIt) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  const auto args = checkpointed(dir);
  const auto weights = dir / "r" / "checkpoint" / "model.weights";
  std::filesystem::remove(weights);
  std::filesystem::create_directory(weights);
  const auto r = run_cifarbench(args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("model.weights: the weights file is a directory"), std::string::npos) << r.err;
}

TEST(TrainCommand, ANanLearningRateIsRefusedNamingTheFlag) {
  TempDir dir;
  auto args = tiny_train(dir / "r", "1");
  replace_value(args, "--lr", "nan");
  const auto r = run_cifarbench(args);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--lr"), std::string::npos) << r.err;
}

TEST(TrainCommand, ANegativeSeedIsRefusedNotWrapped) {
  TempDir dir;
  const auto r = run_cifarbench(tiny_train(dir / "r", "-1"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--seed"), std::string::npos) << r.err;
}

TEST(TrainCommand, DataPathWithTheSyntheticDatasetIsRefused) {
  TempDir dir;
  auto args = tiny_train(dir / "r", "1");
  args.insert(args.end(), {"--data", "/nonexistent"});
  const auto r = run_cifarbench(args);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--data /nonexistent: --dataset synthetic"), std::string::npos) << r.err;
}

TEST(CliCommand, AnUnknownSubcommandIsNamed) {
  const auto r = run_cifarbench({"trian"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown subcommand 'trian'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cb

namespace cb {
namespace {

// The allocation policy (trial/malloc_policy.h) is applied in the trial's process and recorded
// in its environment; a bad value is refused naming the variable.
TEST(TrainCommand, TheMallocPolicyIsAppliedAndRecordedInTheTrialsEnvironment) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  for (const std::string policy : {"keep", "system"}) {
    TempDir dir;
    const auto r = testing::run_cifarbench(
        {"train", "--model", "simple-cnn", "--dataset", "synthetic", "--synthetic-train", "64",
         "--synthetic-test", "16", "--batch-size", "32", "--epochs", "1", "--out",
         dir.path().string()},
        {"CIFARBENCH_MALLOC=" + policy});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::ifstream in(dir / "result.json");
    const auto doc = nlohmann::json::parse(in);
    EXPECT_EQ(doc["environment"]["malloc"]["policy"], policy);
    EXPECT_EQ(doc["environment"]["malloc"]["applied"], true);
    if (policy == "keep") {
      EXPECT_EQ(doc["environment"]["malloc"]["mmap_threshold"], 33554432);
    }
  }
  TempDir dir;
  const auto bad = testing::run_cifarbench(
      {"train", "--dataset", "synthetic", "--out", dir.path().string()}, {"CIFARBENCH_MALLOC=never"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("CIFARBENCH_MALLOC=never"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace cb
