// The CPU peak for MFU (src/trial/peak.h): measured through the real libblas.so.3, cached in a
// file of the test's own, re-measured only when asked (or when a busy figure can be bettered),
// and never lowered by a later, slower measurement.
#include "trial/peak.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "trial/environment.h"

namespace cb::trial {
namespace {

class PeakCache : public ::testing::Test {
 protected:
  void SetUp() override {
    blas = resolve_shared_library("libblas.so.3");
    if (blas.empty()) GTEST_SKIP() << "libblas.so.3 not found";
    file = std::filesystem::temp_directory_path() /
           ("cifarbench_peak_" + std::to_string(getpid()) + ".json");
    std::filesystem::remove(file);
    setenv("CIFARBENCH_PEAK_FILE", file.c_str(), 1);
  }
  void TearDown() override {
    unsetenv("CIFARBENCH_PEAK_FILE");
    std::filesystem::remove(file);
  }
  nlohmann::json peak(PeakMode mode) { return cpu_peak("Test CPU", 2, blas, mode); }
  void write_cached(double flops, double load) {
    const nlohmann::json first = peak(PeakMode::measure_if_missing);  // for the key
    nlohmann::json record = first;
    record["cpu_fp32_flops_per_s"] = flops;
    record["load_1m_at_measurement"] = load;
    std::ofstream(file) << record.dump();
  }
  std::string blas;
  std::filesystem::path file;
};

TEST_F(PeakCache, CachedOnlyNeverMeasures) {
  const auto p = peak(PeakMode::cached_only);
  EXPECT_FALSE(p.contains("cpu_fp32_flops_per_s"));
  EXPECT_NE(p.value("unavailable", "").find("not measured yet"), std::string::npos) << p.dump();
  EXPECT_FALSE(std::filesystem::exists(file));
}

TEST_F(PeakCache, AMissingPeakIsMeasuredOnceAndCached) {
  const auto p = peak(PeakMode::measure_if_missing);
  ASSERT_TRUE(p.contains("cpu_fp32_flops_per_s")) << p.dump();
  EXPECT_GT(p["cpu_fp32_flops_per_s"].get<double>(), 1e8);
  EXPECT_EQ(p["measurements"], 1);
  EXPECT_NE(p["method"].get<std::string>().find("sgemm 2048"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(file));
  EXPECT_EQ(peak(PeakMode::cached_only), p);  // read back, not measured again
}

TEST_F(PeakCache, AQuietCachedFigureIsReusedAndAMeasurementNeverLowersIt) {
  write_cached(1e15, 0.0);  // faster than any CPU, measured on an idle machine
  const auto reused = peak(PeakMode::measure_if_missing);
  EXPECT_EQ(reused["cpu_fp32_flops_per_s"].get<double>(), 1e15);
  EXPECT_EQ(reused["measurements"], 1);  // not measured again
  const auto again = peak(PeakMode::measure);
  EXPECT_EQ(again["cpu_fp32_flops_per_s"].get<double>(), 1e15);  // the best is kept
  EXPECT_EQ(again["measurements"], 2);
}

TEST_F(PeakCache, AFigureMeasuredWhileBusyIsReplacedByABetterOne) {
  write_cached(1.0, 50.0);  // 1 FLOP/s, measured with a load average of 50
  const auto p = peak(PeakMode::measure);
  EXPECT_GT(p["cpu_fp32_flops_per_s"].get<double>(), 1e8);
  EXPECT_LT(p["load_1m_at_measurement"].get<double>(), 50.0);
}

}  // namespace
}  // namespace cb::trial
