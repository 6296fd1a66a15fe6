// The command-line shell, run as a real child process.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/run_process.h"

namespace cb {
namespace {
using testing::run_cifarbench;

TEST(Cli, UnknownFlagPrintsUsageAndExits2) {
  const auto r = run_cifarbench({"--no-such-flag", "env"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE((r.out + r.err).find("no-such-flag"), std::string::npos) << r.out << r.err;
}

TEST(Cli, UnknownSubcommandFlagExits2) {
  const auto r = run_cifarbench({"env", "--bogus"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST(Cli, NoSubcommandIsAUsageError) {
  const auto r = run_cifarbench({});
  EXPECT_EQ(r.exit_code, 2);
}

TEST(Cli, HelpListsRegisteredCommandsAndExits0) {
  const auto r = run_cifarbench({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("env"), std::string::npos) << r.out;
}

TEST(Cli, VersionPrintsTheVersion) {
  const auto r = run_cifarbench({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("cifarbench 0."), std::string::npos) << r.out;
}

TEST(Cli, BadLogLevelNamesTheFlagAndExits2) {
  const auto r = run_cifarbench({"--log-level", "loud", "env"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--log-level"), std::string::npos) << r.err;
}

TEST(Cli, EnvJsonParsesAndHasEveryRecordSection) {
  const auto r = run_cifarbench({"env", "--json"}, {"OMP_NUM_THREADS=3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto env = nlohmann::json::parse(r.out);
  for (const char* key : {"os", "cpu", "memory_bytes", "blas", "build", "backends", "gpus",
                          "environment_variables"}) {
    EXPECT_TRUE(env.contains(key)) << key;
  }
  EXPECT_GT(env["cpu"]["logical_cores"].get<int>(), 0);
  EXPECT_EQ(env["environment_variables"]["OMP_NUM_THREADS"], "3");
  EXPECT_FALSE(env["build"]["git_commit"].get<std::string>().empty());
  bool has_torch = false;
  for (const auto& b : env["backends"]) {
    EXPECT_TRUE(b.contains("name"));
    if (!b["available"].get<bool>()) {
      EXPECT_FALSE(b["reason"].get<std::string>().empty());
    }
    has_torch |= b["name"] == "torch";
  }
  EXPECT_TRUE(has_torch);
  // No GPU in CI: the record says why instead of reporting zeros.
  if (!env["gpus"]["available"].get<bool>()) {
    EXPECT_NE(env["gpus"]["reason"].get<std::string>().find("NVIDIA"), std::string::npos);
  }
}

TEST(Cli, EnvTextNamesTheBlasLibrary) {
  const auto r = run_cifarbench({"env"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("BLAS"), std::string::npos);
  EXPECT_NE(r.out.find("backends"), std::string::npos);
}

}  // namespace
}  // namespace cb
