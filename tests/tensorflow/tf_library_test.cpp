// The TensorFlow loader, through its error paths: no machine here has TensorFlow, so these use
// missing paths, real system libraries, and two fake libraries (fake_tf/) that only pretend to
// be TensorFlow well enough to reach the version and symbol checks.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "backends/backend.h"
#include "support/temp_dir.h"
#include "backends/tensorflow/tf_library.h"
#include "core/error.h"
#include "support/run_process.h"

namespace cb::backends::tf {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A search that never reaches the machine's own libraries or Python.
LibrarySearch isolated_search() {
  LibrarySearch s;
  s.standard_names = {};
  s.pythons = {};
  return s;
}

using cb::testing::TempDir;

// Writes an executable shell script that stands in for python3.
fs::path fake_python(const fs::path& dir, const std::string& body) {
  const auto path = dir / "python3";
  std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
  fs::permissions(path, fs::perms::owner_all);
  return path;
}

TEST(TensorFlowLoader, MissingFlagPathIsNamedWithItsDlopenError) {
  auto search = isolated_search();
  search.flag_path = "/nonexistent/cifarbench/libtensorflow.so.2";
  const auto r = load_tensorflow_library(search);
  EXPECT_EQ(r.library, nullptr);
  EXPECT_TRUE(contains(r.reason, "/nonexistent/cifarbench/libtensorflow.so.2 (--tf-lib)")) << r.reason;
  EXPECT_TRUE(contains(r.reason, "No such file")) << r.reason;
}

TEST(TensorFlowLoader, UnavailableReasonSaysHowToInstall) {
  const auto r = load_tensorflow_library(isolated_search());
  EXPECT_TRUE(contains(r.reason, "pip install 'tensorflow>=2.12'")) << r.reason;
  EXPECT_TRUE(contains(r.reason, "2.9 or newer")) << r.reason;  // the C archive
  EXPECT_TRUE(contains(r.reason, "CIFARBENCH_TF_LIB")) << r.reason;
}

TEST(TensorFlowLoader, EnvironmentPathIsTriedWhenNoFlagIsGiven) {
  auto search = isolated_search();
  search.env_path = "/nonexistent/env/libtensorflow.so.2";
  const auto r = load_tensorflow_library(search);
  EXPECT_TRUE(contains(r.reason, "/nonexistent/env/libtensorflow.so.2 (CIFARBENCH_TF_LIB)")) << r.reason;
}

TEST(TensorFlowLoader, FlagBeatsEnvironmentVariable) {
  auto search = isolated_search();
  search.flag_path = "/nonexistent/flag.so";
  search.env_path = "/nonexistent/env.so";
  const auto r = load_tensorflow_library(search);
  EXPECT_TRUE(contains(r.reason, "/nonexistent/flag.so")) << r.reason;
  EXPECT_FALSE(contains(r.reason, "/nonexistent/env.so")) << r.reason;
}

TEST(TensorFlowLoader, ExplicitPathFailureDoesNotFallBackToTheSearch) {
  auto search = isolated_search();
  search.flag_path = "/nonexistent/flag.so";
  search.standard_names = {"libcifarbench_not_tensorflow.so.2"};
  const auto r = load_tensorflow_library(search);
  EXPECT_FALSE(contains(r.reason, "libcifarbench_not_tensorflow.so.2")) << r.reason;
}

TEST(TensorFlowLoader, EveryStandardNameTriedIsListed) {
  auto search = isolated_search();
  search.standard_names = {"libcifarbench_no_tf_a.so.2", "libcifarbench_no_tf_b.so"};
  const auto r = load_tensorflow_library(search);
  EXPECT_TRUE(contains(r.reason, "libcifarbench_no_tf_a.so.2 (standard library name")) << r.reason;
  EXPECT_TRUE(contains(r.reason, "libcifarbench_no_tf_b.so (standard library name")) << r.reason;
}

TEST(TensorFlowLoader, LibraryWithoutTfVersionIsNotTensorFlow) {
  auto search = isolated_search();
  search.flag_path = "libm.so.6";
  const auto r = load_tensorflow_library(search);
  EXPECT_EQ(r.library, nullptr);
  EXPECT_TRUE(contains(r.reason, "symbol TF_Version missing")) << r.reason;
}

TEST(TensorFlowLoader, OldVersionIsRejectedWithTheVersionFound) {
  auto search = isolated_search();
  search.flag_path = FAKE_TF_OLD;
  const auto r = load_tensorflow_library(search);
  EXPECT_EQ(r.library, nullptr);
  EXPECT_TRUE(contains(r.reason, "version '1.15.0' is too old")) << r.reason;
  EXPECT_TRUE(contains(r.reason, "2.9 or newer")) << r.reason;
}

TEST(TensorFlowLoader, FirstMissingCApiSymbolIsNamed) {
  auto search = isolated_search();
  search.flag_path = FAKE_TF_INCOMPLETE;
  const auto r = load_tensorflow_library(search);
  EXPECT_EQ(r.library, nullptr);
  EXPECT_TRUE(contains(r.reason, "TensorFlow 2.15.0 lacks the C API symbol TF_NewStatus"))
      << r.reason;
}

TEST(TensorFlowLoader, MissingPythonIsReported) {
  auto search = isolated_search();
  search.pythons = {"/nonexistent/bin/python3"};
  const auto r = load_tensorflow_library(search);
  EXPECT_TRUE(contains(r.reason, "python package directory via /nonexistent/bin/python3: not found"))
      << r.reason;
}

TEST(TensorFlowLoader, PythonWithoutTensorFlowIsReported) {
  TempDir dir;
  auto search = isolated_search();
  search.pythons = {fake_python(dir.path(), "exit 1").string()};
  const auto r = load_tensorflow_library(search);
  EXPECT_TRUE(contains(r.reason, "`import tensorflow` failed")) << r.reason;
}

TEST(TensorFlowLoader, PythonPackageDirectoryIsSearchedForTheWheelLibrary) {
  TempDir dir;
  fs::copy_file(FAKE_TF_INCOMPLETE, dir.path() / "libtensorflow_cc.so.2");
  auto search = isolated_search();
  search.pythons = {fake_python(dir.path(), "echo " + dir.path().string()).string()};
  const auto r = load_tensorflow_library(search);
  const auto expected = (dir.path() / "libtensorflow_cc.so.2").string();
  EXPECT_TRUE(contains(r.reason, expected + " (tensorflow package of")) << r.reason;
  EXPECT_TRUE(contains(r.reason, "TF_NewStatus")) << r.reason;
}

// Wheels 2.9-2.11 have no libtensorflow_cc.so.2: the C API is inside a Python extension.
TEST(TensorFlowLoader, WheelOlderThanTwoTwelveIsNamedWithWhatToInstall) {
  TempDir dir;
  fs::create_directories(dir.path() / "python");
  fs::copy_file(FAKE_TF, dir.path() / "python" / "_pywrap_tensorflow_internal.so");
  fs::copy_file(FAKE_TF, dir.path() / "libtensorflow_framework.so.2");
  auto search = isolated_search();
  search.pythons = {
      fake_python(dir.path(), "echo " + dir.path().string() + "; echo 2.10.1").string()};
  const auto r = load_tensorflow_library(search);
  EXPECT_EQ(r.library, nullptr);
  EXPECT_TRUE(contains(r.reason, "tensorflow 2.10.1 in " + dir.path().string())) << r.reason;
  EXPECT_TRUE(contains(r.reason, "_pywrap_tensorflow_internal.so")) << r.reason;
  EXPECT_TRUE(contains(r.reason, "pip install 'tensorflow>=2.12'")) << r.reason;
}

TEST(TensorFlowLoader, WheelFromTwoTwelveIsLoadedFromItsPackageDirectory) {
  TempDir dir;
  fs::copy_file(FAKE_TF, dir.path() / "libtensorflow_cc.so.2");
  auto search = isolated_search();
  search.pythons = {
      fake_python(dir.path(), "echo " + dir.path().string() + "; echo 2.12.0").string()};
  const auto r = load_tensorflow_library(search);
  ASSERT_NE(r.library, nullptr) << r.reason;
  EXPECT_EQ(r.library->path(), (dir.path() / "libtensorflow_cc.so.2").string());
}

TEST(TensorFlowVersion, WheelFloorIsTwoTwelve) {
  EXPECT_FALSE(wheel_version_supported("2.11.1"));
  EXPECT_FALSE(wheel_version_supported("2.9.0"));
  EXPECT_TRUE(wheel_version_supported("2.12.0"));
  EXPECT_TRUE(wheel_version_supported("2.16.1"));
  EXPECT_TRUE(wheel_version_supported(""));  // unknown: TF_Version decides
}

TEST(TensorFlowLoader, HangingPythonIsStoppedAtTheTimeout) {
  TempDir dir;
  auto search = isolated_search();
  search.pythons = {fake_python(dir.path(), "exec sleep 30").string()};
  search.python_timeout_ms = 200;
  const auto r = load_tensorflow_library(search);
  EXPECT_TRUE(contains(r.reason, "did not finish")) << r.reason;
}

TEST(TensorFlowVersion, ParsesMajorAndMinor) {
  EXPECT_EQ(parse_major_minor("2.15.0"), (std::pair{2, 15}));
  EXPECT_EQ(parse_major_minor("2.16.0-rc1"), (std::pair{2, 16}));
  EXPECT_EQ(parse_major_minor("garbage"), std::nullopt);
  EXPECT_EQ(parse_major_minor("2"), std::nullopt);
}

TEST(TensorFlowVersion, OldestSupportedIsTwoNine) {
  EXPECT_FALSE(version_supported("1.15.0"));
  EXPECT_FALSE(version_supported("2.8.4"));
  EXPECT_TRUE(version_supported("2.9.0"));
  EXPECT_TRUE(version_supported("2.16.1"));
  EXPECT_TRUE(version_supported("3.0.0"));
  EXPECT_FALSE(version_supported(""));
}

TEST(TensorFlowBackend, EnvShowsTheLoaderReasonForTheEnvironmentPath) {
  const auto r = cb::testing::run_cifarbench({"env"}, {"CIFARBENCH_TF_LIB=/nonexistent/tf/libtensorflow.so.2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "/nonexistent/tf/libtensorflow.so.2 (CIFARBENCH_TF_LIB)")) << r.out;
}

TEST(TensorFlowBackend, UnavailableBackendRefusesTrainersWithTheReason) {
  register_builtin_backends();
  const Backend* backend = find_backend("tensorflow");
  ASSERT_NE(backend, nullptr);
  const auto info = backend->info();
  if (info.available) GTEST_SKIP() << "TensorFlow " << info.version << " is installed here";
  EXPECT_FALSE(info.unavailable_reason.empty());
  try {
    backend->create_trainer(TrainerConfig{});
    FAIL() << "create_trainer succeeded without TensorFlow";
  } catch (const Unsupported& e) {
    EXPECT_TRUE(contains(e.what(), info.unavailable_reason)) << e.what();
  }
}

// The query needs no TensorFlow library: it answers from the settings alone.
TEST(TensorFlowBackend, UnsupportedAnswersForSupportedAndUnsupportedSettings) {
  register_builtin_backends();
  const Backend* backend = find_backend("tensorflow");
  ASSERT_NE(backend, nullptr);
  ExecutionSettings settings;
  settings.xla = true;
  settings.deterministic = true;
  EXPECT_EQ(backend->unsupported(settings), std::nullopt);
  settings.precision = MixedPrecision::fp16;
  const auto why = backend->unsupported(settings);
  ASSERT_TRUE(why.has_value());
  EXPECT_TRUE(contains(*why, "float32 only")) << *why;
  EXPECT_TRUE(contains(*why, "fp16 mixed precision")) << *why;
  EXPECT_TRUE(contains(*why, "precision = fp16")) << *why;
  settings.precision = MixedPrecision::bf16;
  const auto bf16 = backend->unsupported(settings);
  ASSERT_TRUE(bf16.has_value());
  EXPECT_TRUE(contains(*bf16, "bf16 mixed precision")) << *bf16;
}

}  // namespace
}  // namespace cb::backends::tf
