// `cifarbench train` as ranks of a world: started by `--nproc`, or one by one with torchrun's
// variables as an external launcher would; a dead rank fails the other within a bounded time.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include "launch/local_world.h"
#include "child_ranks.h"
#include "support/run_process.h"

namespace cb {
namespace {

nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

class TrainWorld : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cb-world-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A CIFAR-10 binary directory with `per_file` images in each of the six files.
  std::filesystem::path tiny_cifar(int per_file) {
    const auto data = dir_ / "cifar";
    std::filesystem::create_directories(data);
    std::uint32_t state = 12345;
    auto write = [&](const std::string& name) {
      std::ofstream out(data / name, std::ios::binary);
      for (int i = 0; i < per_file; ++i) {
        const char label = static_cast<char>(i % 10);
        out.put(label);
        for (int p = 0; p < 3072; ++p) {
          state = state * 1664525u + 1013904223u;
          out.put(static_cast<char>((state >> 24) / 2 + (p < 1024 ? 12 * label : 0)));
        }
      }
    };
    for (int b = 1; b <= 5; ++b) write("data_batch_" + std::to_string(b) + ".bin");
    write("test_batch.bin");
    return data;
  }
  std::filesystem::path dir_;
};

TEST_F(TrainWorld, NprocTwoRanksReportOneAccuracyAndRankZeroWritesTheResult) {
  const auto data = tiny_cifar(20);
  const auto out = dir_ / "out";
  const auto r = testing::run_process({CIFARBENCH_EXE, "train", "--model", "simple-cnn", "--data",
                                       data.string(), "--epochs", "1", "--batch-size", "8",
                                       "--threads", "1", "--nproc", "2", "--no-telemetry",
                                       "--no-download", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto result = read_json(out / "result.json")["result"];
  const auto rank1 = read_json(out / "rank-1.json")["result"];
  EXPECT_EQ(result["status"], "completed");
  EXPECT_EQ(result["world_size"], 2);
  EXPECT_EQ(result["training_images"], 96);  // 100 images padded to 2 × 50, in 6 × 8 per rank
  EXPECT_EQ(result["images_per_s_by_rank"].size(), 2u);
  EXPECT_EQ(result["test_accuracy"], rank1["test_accuracy"]);
}

// Reading the steps' values every 4 steps (the last read at the epoch's 6th) instead of every
// step: the ranks still agree at each read and report the same figures.
TEST_F(TrainWorld, TwoRanksReadingInBatchesReportWhatReadingEveryStepReports) {
  const auto data = tiny_cifar(20);
  auto train = [&](const std::string& every) {
    const auto out = dir_ / ("out-" + every);
    const auto r = testing::run_process({CIFARBENCH_EXE, "train", "--model", "simple-cnn", "--data",
                                         data.string(), "--epochs", "1", "--batch-size", "8",
                                         "--threads", "1", "--nproc", "2", "--no-telemetry",
                                         "--no-download", "--read-every", every, "--out", out.string()});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return read_json(out / "result.json");
  };
  const auto each = train("1"), batched = train("4");
  EXPECT_EQ(batched["config"]["read_every"], 4);
  EXPECT_EQ(batched["result"]["status"], "completed");
  EXPECT_EQ(batched["result"]["steps"], each["result"]["steps"]);
  EXPECT_EQ(batched["result"]["training_images"], 96);
  EXPECT_EQ(batched["result"]["epochs"][0]["train_loss"], each["result"]["epochs"][0]["train_loss"]);
  EXPECT_EQ(batched["result"]["epochs"][0]["train_accuracy"], each["result"]["epochs"][0]["train_accuracy"]);
  EXPECT_EQ(batched["result"]["test_accuracy"], each["result"]["test_accuracy"]);
}

TEST_F(TrainWorld, NprocUnderAnExternalLauncherIsRefusedNamingIt) {
  const auto r = testing::run_process({CIFARBENCH_EXE, "train", "--dataset", "synthetic", "--nproc",
                                       "2", "--out", (dir_ / "o").string()},
                                      {"RANK=1", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--nproc 2: this process is already rank 1 of 2 started by torchrun"),
            std::string::npos)
      << r.err;
}

TEST_F(TrainWorld, PartialLauncherVariablesAreRefusedNamingTheMissingOne) {
  const auto r = testing::run_process(
      {CIFARBENCH_EXE, "train", "--dataset", "synthetic", "--out", (dir_ / "o").string()},
      {"SLURM_PROCID=0", "SLURM_NTASKS=2", "SLURM_JOB_NODELIST=", "MASTER_ADDR=", "RANK=",
       "WORLD_SIZE=", "OMPI_COMM_WORLD_RANK=", "OMPI_COMM_WORLD_SIZE="});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("SLURM_JOB_NODELIST is missing"), std::string::npos) << r.err;
}

TEST_F(TrainWorld, KillingOneRankMakesTheOtherExitNonZeroWithinSixtySeconds) {
  const int port = launch::free_local_port();
  const auto out = dir_ / "out";
  std::vector<testing::ChildProcess> ranks;
  for (int r = 0; r < 2; ++r) {
    ranks.push_back(testing::start_child(
        {CIFARBENCH_EXE, "train", "--dataset", "synthetic", "--model", "simple-cnn", "--epochs",
         "3", "--threads", "1", "--no-telemetry", "--dist-timeout", "50", "--out", out.string()},
        {{"RANK", std::to_string(r)},
         {"WORLD_SIZE", "2"},
         {"MASTER_ADDR", "127.0.0.1"},
         {"MASTER_PORT", std::to_string(port)}},
        dir_ / ("rank-" + std::to_string(r) + ".log")));
  }
  // result.json appears once both ranks joined and agreed on their weights: training has begun.
  for (int i = 0; i < 1200 && !std::filesystem::exists(out / "result.json"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(std::filesystem::exists(out / "result.json")) << testing::read_log(ranks[0]);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  testing::kill_child(ranks[1]);
  const auto killed_at = std::chrono::steady_clock::now();
  const int status = testing::wait_child(ranks[0], std::chrono::seconds(60));
  if (status == -1) testing::kill_child(ranks[0]);
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, std::chrono::seconds(60));
  EXPECT_EQ(status, 1) << testing::read_log(ranks[0]);
  EXPECT_EQ(read_json(out / "result.json")["result"]["status"], "failed");
}

}  // namespace
}  // namespace cb

namespace cb {
namespace {

TEST_F(TrainWorld, CtrlCToTheLauncherStopsEveryRankAsInterrupted) {
  const auto out = dir_ / "out";
  const auto launcher = testing::start_child(
      {CIFARBENCH_EXE, "train", "--dataset", "synthetic", "--model", "simple-cnn", "--epochs", "3",
       "--threads", "1", "--no-telemetry", "--nproc", "2", "--out", out.string()},
      {}, dir_ / "launcher.log");
  for (int i = 0; i < 1200 && !std::filesystem::exists(out / "result.json"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(std::filesystem::exists(out / "result.json")) << testing::read_log(launcher);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  kill(launcher.pid, SIGINT);
  const int status = testing::wait_child(launcher, std::chrono::seconds(60));
  if (status == -1) testing::kill_child(launcher);
  EXPECT_EQ(status, 130) << testing::read_log(launcher);
  EXPECT_EQ(read_json(out / "result.json")["result"]["status"], "interrupted");
  EXPECT_EQ(read_json(out / "rank-1.json")["result"]["status"], "interrupted");
}

}  // namespace
}  // namespace cb

namespace cb {
namespace {

TEST_F(TrainWorld, NprocLauncherFailsAndRecordsTheTrialFailedWhenARankIsKilled) {
  const auto out = dir_ / "out";
  const auto launcher = testing::start_child(
      {CIFARBENCH_EXE, "train", "--dataset", "synthetic", "--model", "simple-cnn", "--epochs", "3",
       "--threads", "1", "--no-telemetry", "--nproc", "2", "--out", out.string()},
      {}, dir_ / "launcher.log");
  for (int i = 0; i < 1200 && !std::filesystem::exists(out / "result.json"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(std::filesystem::exists(out / "result.json")) << testing::read_log(launcher);
  std::ifstream children_file("/proc/" + std::to_string(launcher.pid) + "/task/" +
                              std::to_string(launcher.pid) + "/children");
  std::vector<pid_t> children;
  for (pid_t p; children_file >> p;) children.push_back(p);
  ASSERT_EQ(children.size(), 2u);
  kill(children[0], SIGKILL);  // rank 0 itself: the launcher must record the failure for it
  const int status = testing::wait_child(launcher, std::chrono::seconds(60));
  if (status == -1) testing::kill_child(launcher);
  EXPECT_EQ(status, 1) << testing::read_log(launcher);
  EXPECT_EQ(read_json(out / "result.json")["result"]["status"], "failed");
}

}  // namespace
}  // namespace cb

namespace cb {
namespace {

TEST_F(TrainWorld, RanksWithDifferentInitialWeightsRefuseToTrain) {
  const auto data = tiny_cifar(10);
  const int port = launch::free_local_port();
  std::vector<testing::ChildProcess> ranks;
  for (int r = 0; r < 2; ++r) {
    ranks.push_back(testing::start_child(
        {CIFARBENCH_EXE, "train", "--model", "simple-cnn", "--data", data.string(), "--epochs", "1",
         "--batch-size", "8", "--threads", "1", "--no-telemetry", "--seed", std::to_string(r),
         "--out", (dir_ / "out").string()},
        {{"RANK", std::to_string(r)},
         {"WORLD_SIZE", "2"},
         {"MASTER_ADDR", "127.0.0.1"},
         {"MASTER_PORT", std::to_string(port)}},
        dir_ / ("rank-" + std::to_string(r) + ".log")));
  }
  for (const auto& c : ranks) {
    const int status = testing::wait_child(c, std::chrono::seconds(60));
    if (status == -1) testing::kill_child(c);
    EXPECT_EQ(status, 1) << testing::read_log(c);
    EXPECT_NE(testing::read_log(c).find("initial weights differ"), std::string::npos)
        << testing::read_log(c);
  }
}

}  // namespace
}  // namespace cb

namespace cb {
namespace {

TEST_F(TrainWorld, CudaLocalDeviceIsTheGpuOfTheLocalRank) {
  const auto r =
      testing::run_process({CIFARBENCH_EXE, "train", "--dataset", "synthetic", "--device",
                            "cuda:local", "--dist-timeout", "2", "--out", (dir_ / "o").string()},
                           {"RANK=3", "WORLD_SIZE=4", "LOCAL_RANK=1", "MASTER_ADDR=127.0.0.1"});
  // Without a GPU the device is refused, by the name the local rank gave it; with one it is
  // accepted and the lone rank waits for its world in vain.
  if (r.err.find("could not join the world") != std::string::npos) {
    GTEST_SKIP() << "cuda:1 exists here: " << r.err;
  }
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("cuda:1"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cb

namespace cb {
namespace {

TEST_F(TrainWorld, BackendsWithoutDataParallelismRefuseAWorldNamingTheOption) {
  const auto r = testing::run_process({CIFARBENCH_EXE, "train", "--framework", "dlib", "--dataset",
                                       "synthetic", "--out", (dir_ / "o").string()},
                                      {"RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1"});
  if (r.err.find("not available") != std::string::npos) GTEST_SKIP() << r.err;
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--nproc/WORLD_SIZE 2: the dlib backend trains in one process only"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace cb
