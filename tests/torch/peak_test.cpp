// The device peak for MFU (backend.h's measure_device_peak, trial/peak.h's device_peak): timed
// through the torch backend's matrix product. No GPU here, so the CPU device runs the same code
// path (a GPU adds only the synchronisation), and a CUDA device is refused with the reason.
#include "trial/peak.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tiny_models.h"

namespace cb::testing {
namespace {

using backends::MixedPrecision;

TEST(TorchDevicePeak, TimesAMatrixProductOnTheCpuInFloat32) {
  std::string why_not;
  const auto p = torch_backend().measure_device_peak("cpu", MixedPrecision::off, 128, 3, why_not);
  ASSERT_TRUE(p.has_value()) << why_not;
  EXPECT_GT(p->flops_per_s, 1e6);  // 2·128³ in under 4 s
  EXPECT_EQ(p->size, 128);
  EXPECT_EQ(p->runs, 3);
  EXPECT_EQ(p->dtype, "float32");
}

TEST(TorchDevicePeak, RefusesWhatItCannotMeasureSayingWhy) {
  std::string why_not;
  EXPECT_FALSE(torch_backend().measure_device_peak("cpu", MixedPrecision::bf16, 64, 1, why_not));
  EXPECT_NE(why_not.find("--precision bf16"), std::string::npos) << why_not;
  EXPECT_FALSE(torch_backend().measure_device_peak("tpu:0", MixedPrecision::off, 64, 1, why_not));
  EXPECT_NE(why_not.find("tpu:0"), std::string::npos) << why_not;
  EXPECT_FALSE(torch_backend().measure_device_peak("cpu", MixedPrecision::off, 0, 1, why_not));
  EXPECT_NE(why_not.find("size 0"), std::string::npos) << why_not;
  bool cuda = false;
  for (const auto& d : torch_backend().info().devices) cuda = cuda || d.id.rfind("cuda", 0) == 0;
  if (!cuda) {
    EXPECT_FALSE(torch_backend().measure_device_peak("cuda:0", MixedPrecision::off, 64, 1, why_not));
    EXPECT_NE(why_not.find("cuda:0"), std::string::npos) << why_not;
  }
}

class DevicePeakCache : public ::testing::Test {
 protected:
  void SetUp() override {
    torch_backend();  // registers the builtin backends
    dir = std::filesystem::temp_directory_path() / ("cifarbench_device_peak_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    setenv("CIFARBENCH_PEAK_FILE", (dir / "peak.json").c_str(), 1);
  }
  void TearDown() override {
    unsetenv("CIFARBENCH_PEAK_FILE");
    std::filesystem::remove_all(dir);
  }
  std::filesystem::path dir;
};

TEST_F(DevicePeakCache, IsMeasuredOnceCachedBesideTheCpuPeakAndKeepsTheBest) {
  EXPECT_EQ(trial::device_peak_cache_path(), dir / "peak-devices.json");
  const auto none = trial::device_peak("cpu", MixedPrecision::off, trial::PeakMode::cached_only, 96, 2);
  EXPECT_NE(none.value("unavailable", "").find("not measured yet"), std::string::npos) << none.dump();

  const auto first = trial::device_peak("cpu", MixedPrecision::off, trial::PeakMode::measure_if_missing, 96, 2);
  ASSERT_GT(first.value("flops_per_s", 0.0), 0) << first.dump();
  EXPECT_EQ(first["measured_by"], "torch");
  EXPECT_EQ(first["device"], "cpu");
  EXPECT_EQ(first["precision"], "off");
  EXPECT_EQ(first["measurements"], 1);
  ASSERT_TRUE(std::filesystem::exists(trial::device_peak_cache_path()));

  // Cached: the same record without measuring.
  const auto again = trial::device_peak("cpu", MixedPrecision::off, trial::PeakMode::measure_if_missing, 96, 2);
  EXPECT_EQ(again["flops_per_s"], first["flops_per_s"]);
  EXPECT_EQ(again["measurements"], 1);

  // A new measurement cannot lower the figure: plant an unreachable one and measure again.
  auto cache = nlohmann::json::parse(std::ifstream(trial::device_peak_cache_path()));
  cache[first["key"].get<std::string>()]["flops_per_s"] = 1e18;
  std::ofstream(trial::device_peak_cache_path()) << cache.dump();
  const auto best = trial::device_peak("cpu", MixedPrecision::off, trial::PeakMode::measure, 96, 2);
  EXPECT_EQ(best["flops_per_s"], 1e18);
  EXPECT_EQ(best["measurements"], 2);
}

TEST_F(DevicePeakCache, AnUnmeasurableDeviceIsUnavailableWithTheFrameworksReason) {
  const auto p = trial::device_peak("tpu:0", MixedPrecision::off, trial::PeakMode::measure_if_missing, 64, 1);
  EXPECT_FALSE(p.contains("flops_per_s")) << p.dump();
  EXPECT_NE(p.value("unavailable", "").find("tpu:0"), std::string::npos) << p.dump();
  EXPECT_EQ(p["device"], "tpu:0");
  EXPECT_FALSE(std::filesystem::exists(trial::device_peak_cache_path()));
}

}  // namespace
}  // namespace cb::testing
