// `cifarbench check`'s checks (src/conformance/check.h): a backend broken on purpose fails them,
// naming the check; an unavailable one is skipped with its reason; the record that trials read
// says what was checked, and for which version.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "backends/backend.h"
#include "conformance/check.h"
#include "core/error.h"
#include "conformance/delegating_backend.h"
#include "support/run_process.h"
#include "support/temp_dir.h"

namespace cb::conformance {
namespace {

class Unloadable final : public backends::Backend {
 public:
  backends::BackendInfo info() const override {
    return {"unloadable", "", false, "libunloadable.so was not found", {}};
  }
  std::unique_ptr<backends::Trainer> create_trainer(const backends::TrainerConfig&) const override {
    throw Unsupported("never available");
  }
};

const CheckResult* find(const CheckReport& report, const std::string& backend, const std::string& check) {
  for (const auto& r : report.results) {
    if (r.backend == backend && r.check == check) return &r;
  }
  return nullptr;
}

class Checks : public ::testing::Test {
 protected:
  void SetUp() override {
    backends::register_builtin_backends();
    torch_ = backends::find_backend("torch");
    if (!torch_ || !torch_->info().available) GTEST_SKIP() << "the torch backend is not built";
  }
  const backends::Backend* torch_ = nullptr;
};

TEST_F(Checks, ABackendWithTheWrongMomentumFailsTheSgdCheckAndOnlyIt) {
  const WrongMomentumBackend broken(*torch_);
  CheckOptions options;
  options.device = "cpu";
  const CheckReport report = run_checks({torch_, &broken}, options);
  EXPECT_EQ(report.reference, "torch on cpu");
  EXPECT_TRUE(report.failed());
  const auto* sgd = find(report, "wrongmomentum", "sgd_steps");
  ASSERT_NE(sgd, nullptr);
  EXPECT_EQ(sgd->outcome, Outcome::fail) << sgd->detail;
  EXPECT_EQ(report.summary("wrongmomentum"), "fail");
  EXPECT_EQ(report.summary("torch"), "pass");
  for (const char* same : {"parameter_count", "weights_loaded", "logits", "evaluate_matches_logits"}) {
    const auto* r = find(report, "wrongmomentum", same);
    ASSERT_NE(r, nullptr) << same;
    EXPECT_EQ(r->outcome, Outcome::pass) << same << ": " << r->detail;
  }
  // The table and the JSON name the failed check.
  EXPECT_NE(format_check_table(report).find("sgd_steps                FAIL"), std::string::npos)
      << format_check_table(report);
  const auto json = to_json(report);
  EXPECT_TRUE(json["failed"].get<bool>());
}

TEST_F(Checks, AnUnavailableBackendIsSkippedWithTheLoadersReason) {
  const Unloadable absent;
  const CheckReport report = run_checks({&absent}, CheckOptions{});
  ASSERT_EQ(report.results.size(), 1u);
  EXPECT_EQ(report.results[0].outcome, Outcome::skip);
  EXPECT_EQ(report.results[0].detail, "libunloadable.so was not found");
  EXPECT_FALSE(report.failed());
  EXPECT_EQ(report.reference, "torch on cpu");  // the reference whether or not it is checked
}

TEST_F(Checks, TheRecordGivesTrialsTheResultForTheCheckedVersionOnly) {
  cb::testing::TempDir dir;
  const auto path = dir.path() / "check.json";
  ::setenv("CIFARBENCH_CHECK_FILE", path.c_str(), 1);
  EXPECT_EQ(check_status("torch")["result"], "never");
  CheckReport report;
  report.model = "simple-cnn";
  report.results.push_back({"torch", "cpu", "logits", Outcome::pass, ""});
  report.results.push_back({"absentfw", "-", "available", Outcome::skip, "not here"});
  write_check_record(report, path);
  const auto status = check_status("torch");
  EXPECT_EQ(status["result"], "pass");
  EXPECT_EQ(status["version"], torch_->info().version);
  EXPECT_EQ(check_status("absentfw")["result"], "never");  // skipped: nothing was verified
  // A record of another torch version does not count for this one.
  std::ofstream(path) << R"({"torch": {"result": "pass", "version": "0.0.1"}})";
  EXPECT_EQ(check_status("torch")["result"], "never");
  EXPECT_EQ(check_status("torch")["checked_version"], "0.0.1");
  ::unsetenv("CIFARBENCH_CHECK_FILE");
}

}  // namespace
}  // namespace cb::conformance

namespace cb::conformance {
namespace {

// The command: a real child process of the built cifarbench.
TEST(CheckCommand, ChecksABackendWritesTheJsonAndTheRecordAndExitsZero) {
  if (!backends::find_backend("torch")) backends::register_builtin_backends();
  if (!backends::find_backend("torch")->info().available) GTEST_SKIP() << "the torch backend is not built";
  cb::testing::TempDir dir;
  const auto json_path = dir.path() / "check-out.json";
  const auto record = dir.path() / "record.json";
  const auto r = cb::testing::run_process(
      {CIFARBENCH_EXE, "check", "--framework", "torch", "--json", json_path.string()},
      {"CIFARBENCH_CHECK_FILE=" + record.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("clean_exit               pass"), std::string::npos) << r.out;
  std::ifstream in(json_path);
  const auto json = nlohmann::json::parse(in);
  EXPECT_FALSE(json["failed"].get<bool>());
  EXPECT_GE(json["results"].size(), 10u);
  std::ifstream rec(record);
  EXPECT_EQ(nlohmann::json::parse(rec)["torch"]["result"], "pass");
}

TEST(CheckCommand, AnUnknownFrameworkIsRefusedWithExitTwo) {
  const auto r = cb::testing::run_process({CIFARBENCH_EXE, "check", "--framework", "nosuchfw"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--framework nosuchfw: expected one of"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cb::conformance
