// `cifarbench data import|info|verify`, run as a real child process.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <fstream>

#include "fixtures.h"
#include "support/require_backend.h"
#include "support/run_process.h"

namespace cb {
namespace {
using testing::run_cifarbench;
using testing::TempDir;
namespace fs = std::filesystem;

const std::vector<std::string> kClasses = {"bird", "airplane"};

TEST(DataImport, ArchiveBecomesACifarFolderWithTheSamePixels) {
  TempDir dir;
  testing::write_file(dir / "set.tar.gz",
                      testing::make_archive(testing::image_folder_members("set", kClasses, 3),
                                            testing::ArchiveKind::tar_gz));
  const auto r = run_cifarbench(
      {"data", "import", (dir / "set.tar.gz").string(), "--out", (dir / "imported").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"data_batch_1.bin", "data_batch_5.bin", "test_batch.bin",
                        "batches.meta.txt", "cifarbench.json"}) {
    EXPECT_TRUE(fs::exists(dir / "imported" / f)) << f;
  }
  const auto before = run_cifarbench({"data", "info", "--json", (dir / "set.tar.gz").string()});
  const auto after = run_cifarbench({"data", "info", "--json", (dir / "imported").string()});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  const auto a = nlohmann::json::parse(before.out), b = nlohmann::json::parse(after.out);
  EXPECT_EQ(b["name"], "set");
  EXPECT_EQ(b["classes"], a["classes"]);
  EXPECT_EQ(b["train"]["per_class"], a["train"]["per_class"]);
  EXPECT_EQ(b["train"]["mean"], a["train"]["mean"]);
}

TEST(DataImport, FailedImportLeavesNothingAtTheOutput) {
  TempDir dir;
  auto members = testing::image_folder_members("set", kClasses, 3);
  members.back().bytes.resize(40);  // a corrupt last image: decoding fails after the others
  testing::write_members(dir.path(), members);
  const auto r =
      run_cifarbench({"data", "import", (dir / "set").string(), "--out", (dir / "out").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(fs::exists(dir / "out"));
  for (const auto& e : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename().string().find(".out"), std::string::npos) << e.path();
  }
}

TEST(DataImport, ExistingOutputIsKeptWithoutForce) {
  TempDir dir;
  testing::write_members(dir.path(), testing::image_folder_members("set", kClasses, 3));
  testing::write_text(dir / "out/keep.txt", "mine");
  const auto r =
      run_cifarbench({"data", "import", (dir / "set").string(), "--out", (dir / "out").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(dir / "out/keep.txt"));
  const auto forced = run_cifarbench(
      {"data", "import", (dir / "set").string(), "--out", (dir / "out").string(), "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_FALSE(fs::exists(dir / "out/keep.txt"));
}

TEST(DataInfo, PrintsCountsPerClassAndChannelStatistics) {
  TempDir dir;
  testing::write_cifar10_dir(dir.path(), 2, 3);
  const auto r = run_cifarbench({"data", "info", dir.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("train    10 images"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test     3 images"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("per-channel mean"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("truck"), std::string::npos) << r.out;
}

TEST(DataInfo, SyntheticIsLabelledSynthetic) {
  const auto r = run_cifarbench({"data", "info", "--dataset", "synthetic"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("dataset  synthetic (synthetic"), std::string::npos) << r.out;
}

TEST(DataInfo, NoDataExits2ListingTheWays) {
  TempDir cache;
  const auto r = run_cifarbench({"data", "info"},
                                {"CIFARBENCH_DATA=", "XDG_CACHE_HOME=" + cache.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--data PATH"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CIFARBENCH_DATA"), std::string::npos) << r.err;
}

TEST(DataInfo, BadBinaryExits2NamingTheFile) {
  TempDir dir;
  testing::write_cifar10_dir(dir.path());
  testing::write_file(dir / "data_batch_2.bin", testing::Bytes(100, 0));
  const auto r = run_cifarbench({"data", "info", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("data_batch_2.bin"), std::string::npos) << r.err;
}

TEST(DataVerify, ImportedFolderVerifies) {
  TempDir dir;
  testing::write_members(dir.path(), testing::image_folder_members("set", kClasses, 3));
  ASSERT_EQ(
      run_cifarbench({"data", "import", (dir / "set").string(), "--out", (dir / "out").string()})
          .exit_code,
      0);
  const auto r = run_cifarbench({"data", "verify", (dir / "out").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("match the MD5s"), std::string::npos) << r.out;
}

TEST(DataVerify, ChangedFileIsAnMd5Mismatch) {
  TempDir dir;
  testing::write_members(dir.path(), testing::image_folder_members("set", kClasses, 3));
  ASSERT_EQ(
      run_cifarbench({"data", "import", (dir / "set").string(), "--out", (dir / "out").string()})
          .exit_code,
      0);
  auto bytes = testing::read_file(dir / "out/test_batch.bin");
  bytes[100] ^= 1;  // still a valid layout, but not what was imported
  testing::write_file(dir / "out/test_batch.bin", bytes);
  const auto r = run_cifarbench({"data", "verify", (dir / "out").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("test_batch.bin: MD5 is"), std::string::npos) << r.err;
}

TEST(DataVerify, OfficialArchiveNameWithWrongMd5Fails) {
  TempDir dir;
  testing::write_text(dir / "cifar-10-binary.tar.gz", "not the archive");
  const auto r = run_cifarbench({"data", "verify", (dir / "cifar-10-binary.tar.gz").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("c32a1d4ab5d03f1284b67883e8d87530"), std::string::npos) << r.err;
}

// `cifarbench run --data ARCHIVE`: the archive is decoded once into the cache, every trial reads
// the import, and a later run reuses it; the run's console ends with the verdict section.
TEST(RunWithArchiveData, TheArchiveIsImportedOnceAndReusedByLaterRuns) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  TempDir dir;
  std::vector<std::string> classes;
  for (int c = 0; c < 10; ++c) classes.push_back(fmt::format("class{}", c));
  testing::write_file(dir / "set.tar.gz",
                      testing::make_archive(testing::image_folder_members("set", classes, 2),
                                            testing::ArchiveKind::tar_gz));
  std::ofstream(dir / "suite.toml")
      << "name = \"archive\"\ndataset = \"cifar10\"\ntime_limit_s = 120\n"
      << "[matrix]\nframeworks = [\"torch\"]\nmodels = [\"" << CIFARBENCH_SOURCE_DIR
      << "/configs/models/tiny-cnn.toml\"]\nrecipes = [\"r\"]\nseeds = [1, 2]\nthreads = [1]\n"
      << "[recipes.r.train]\nepochs = 1\nwarmup_steps = 1\n[recipes.r.data]\nbatch_size = 4\n";
  const std::vector<std::string> env = {"XDG_CACHE_HOME=" + (dir / "cache").string(),
                                        "CIFARBENCH_GNUPLOT=/nonexistent/gnuplot"};
  auto run = [&](const std::string& results) {
    return run_cifarbench({"run", (dir / "suite.toml").string(), "--data",
                           (dir / "set.tar.gz").string(), "--results", (dir / results).string()},
                          env);
  };
  const auto first = run("first");
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("decoding " + (dir / "set.tar.gz").string() + " once"),
            std::string::npos)
      << first.out;
  EXPECT_NE(first.out.find("20 train and 10 test images imported"), std::string::npos);
  const fs::path imported = dir / "cache" / "cifarbench" / "imported";
  ASSERT_TRUE(fs::is_directory(imported));
  ASSERT_EQ(std::distance(fs::directory_iterator(imported), fs::directory_iterator()), 1);
  const fs::path import_dir = fs::directory_iterator(imported)->path();
  EXPECT_TRUE(fs::exists(import_dir / "data_batch_1.bin"));
  // Every trial read the import, not the archive.
  const auto trial = nlohmann::json::parse(
      testing::read_file(dir / "first" / "trials" / "torch_tiny-cnn_r_seed_1" / "result.json"));
  EXPECT_EQ(trial["config"]["data"]["path"], import_dir.string()) << trial["config"]["data"];
  // Every result carries its model FLOP utilization against the machine's measured peak.
  const auto& mfu = trial["result"]["model_flop_utilization"];
  EXPECT_GT(mfu.value("mfu", 0.0), 0.0) << mfu.dump();
  EXPECT_GT(trial["environment"]["peak"].value("cpu_fp32_flops_per_s", 0.0), 1e9);
  EXPECT_NE(first.out.find("model FLOP utilization"), std::string::npos);
  // The console ends with the answer: the verdict section comes after the tables.
  const auto verdict = first.out.rfind("Verdict\n-------");
  ASSERT_NE(verdict, std::string::npos) << first.out;
  EXPECT_GT(verdict, first.out.find("Table 9. Trials"));

  const auto second = run("second");
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_EQ(second.out.find("decoding"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("imported before from"), std::string::npos) << second.out;
}

TEST(DataCommand, RequiresASubcommand) { EXPECT_EQ(run_cifarbench({"data"}).exit_code, 2); }

}  // namespace
}  // namespace cb
