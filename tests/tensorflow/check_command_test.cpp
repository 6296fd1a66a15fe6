// `cifarbench check` against a backend that is broken for real: the TensorFlow backend loaded
// on the fake TensorFlow library (fake_tf.c), which builds and runs sessions but computes
// nothing. The command must fail it, name the checks, and exit 1; torch still passes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "support/run_process.h"
#include "support/temp_dir.h"

namespace cb {
namespace {

TEST(CheckCommandOnTheFakeTensorFlow, ExitsOneNamingTheChecksTheBrokenBackendFails) {
  cb::testing::TempDir dir;
  const auto json_path = dir.path() / "check.json";
  const auto r = cb::testing::run_process(
      {CIFARBENCH_EXE, "check", "--framework", "torch", "--framework", "tensorflow", "--json", json_path.string()},
      {std::string("CIFARBENCH_TF_LIB=") + FAKE_TF, "CIFARBENCH_CHECK_FILE=" + (dir.path() / "record.json").string()});
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("check(s) failed: tensorflow cpu: "), std::string::npos) << r.err;
  std::ifstream in(json_path);
  const auto json = nlohmann::json::parse(in);
  EXPECT_TRUE(json["failed"].get<bool>());
  int tensorflow_failures = 0, torch_failures = 0;
  for (const auto& row : json["results"]) {
    if (row["outcome"] != "fail") continue;
    (row["backend"] == "tensorflow" ? tensorflow_failures : torch_failures)++;
  }
  EXPECT_GT(tensorflow_failures, 0);
  EXPECT_EQ(torch_failures, 0) << r.out;
  std::ifstream record(dir.path() / "record.json");
  EXPECT_EQ(nlohmann::json::parse(record)["tensorflow"]["result"], "fail");
}

}  // namespace
}  // namespace cb
