// The NVML loader on machines without a GPU. The "present" cases load tests/telemetry/fake_nvml,
// a small library exporting part of NVML's API with fixed readings: acceptable here only because
// no CI machine has a GPU, as issue 7 allows; real readings are checked on a GPU machine.
#include "telemetry/nvml.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace cb::telemetry {
namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

TEST(Nvml, AbsentLibraryIsUnavailableWithAReason) {
  const Nvml nvml("/nonexistent/libnvidia-ml.so.1");
  EXPECT_FALSE(nvml.available());
  EXPECT_TRUE(nvml.driver_missing());
  EXPECT_NE(nvml.unavailable_reason().find("no NVIDIA driver"), std::string::npos);
  EXPECT_NE(nvml.unavailable_reason().find("/nonexistent/libnvidia-ml.so.1"), std::string::npos);
  EXPECT_TRUE(nvml.read_all().empty());
}

TEST(Nvml, LibraryWithoutInitFunctionIsUnavailable) {
  // libc loads fine but has no NVML entry points, like a driver too old for nvmlInit_v2.
  const Nvml nvml("libc.so.6");
  EXPECT_FALSE(nvml.available());
  EXPECT_TRUE(nvml.driver_missing());
  EXPECT_NE(nvml.unavailable_reason().find("nvmlInit_v2"), std::string::npos);
}

TEST(Nvml, FakeLibraryReadingsAreReported) {
  const Nvml nvml(CIFARBENCH_FAKE_NVML);
  ASSERT_TRUE(nvml.available()) << nvml.unavailable_reason();
  ASSERT_EQ(nvml.device_count(), 1u);
  const auto readings = nvml.read_all();
  ASSERT_EQ(readings.size(), 1u);
  const GpuReading& r = readings[0];
  EXPECT_EQ(r.utilization_gpu_percent, 87.0);
  EXPECT_EQ(r.utilization_memory_percent, 40.0);
  EXPECT_EQ(r.memory_used_bytes, 4ULL << 30);
  EXPECT_EQ(r.memory_total_bytes, 16ULL << 30);
  EXPECT_EQ(r.power_watts, 150.0);  // NVML reports milliwatts
}

TEST(Nvml, FunctionsMissingFromTheDriverLeaveReadingsEmptyNotZero) {
  const Nvml nvml(CIFARBENCH_FAKE_NVML);
  ASSERT_TRUE(nvml.available()) << nvml.unavailable_reason();
  EXPECT_TRUE(contains(nvml.missing_functions(), "nvmlDeviceGetTotalEnergyConsumption"));
  EXPECT_TRUE(contains(nvml.missing_functions(), "nvmlDeviceGetClockInfo"));
  EXPECT_TRUE(contains(nvml.missing_functions(), "nvmlDeviceGetTemperature"));
  EXPECT_FALSE(contains(nvml.missing_functions(), "nvmlDeviceGetUtilizationRates"));
  const GpuReading r = nvml.read_all().at(0);
  EXPECT_FALSE(r.energy_millijoules.has_value());
  EXPECT_FALSE(r.sm_clock_mhz.has_value());
  EXPECT_FALSE(r.temperature_celsius.has_value());
}

TEST(Nvml, ListGpusNamesTheFakeDevice) {
  const GpuInventory inventory = list_gpus(CIFARBENCH_FAKE_NVML);
  ASSERT_TRUE(inventory.available) << inventory.reason;
  EXPECT_EQ(inventory.driver_version, "0.0-fake");
  ASSERT_EQ(inventory.gpus.size(), 1u);
  EXPECT_EQ(inventory.gpus[0].name, "Fake GPU");
}

TEST(Nvml, ListGpusWithoutTheLibraryGivesAReason) {
  const GpuInventory inventory = list_gpus("/nonexistent/libnvidia-ml.so.1");
  EXPECT_FALSE(inventory.available);
  EXPECT_NE(inventory.reason.find("no NVIDIA driver"), std::string::npos);
}

TEST(Nvml, ListGpusWithADriverTooOldGivesTheSessionsReason) {
  const GpuInventory inventory = list_gpus("libc.so.6");
  EXPECT_FALSE(inventory.available);
  EXPECT_EQ(inventory.reason, Nvml("libc.so.6").unavailable_reason());
  EXPECT_NE(inventory.reason.find("nvmlInit_v2"), std::string::npos);
}

TEST(Nvml, TheFakeDeviceIsDescribedWithItsNameMemoryAndDriver) {
  const Nvml nvml(CIFARBENCH_FAKE_NVML);
  ASSERT_TRUE(nvml.available()) << nvml.unavailable_reason();
  EXPECT_EQ(nvml.driver_version(), "0.0-fake");
  const auto gpus = nvml.describe_devices();
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_EQ(gpus[0].index, 0u);
  EXPECT_EQ(gpus[0].name, "Fake GPU");
  EXPECT_EQ(gpus[0].memory_total_bytes, 16ULL << 30);
}

TEST(Nvml, AnAbsentLibraryDescribesNothing) {
  const Nvml nvml("/nonexistent/libnvidia-ml.so.1");
  EXPECT_EQ(nvml.driver_version(), "");
  EXPECT_TRUE(nvml.describe_devices().empty());
}

}  // namespace
}  // namespace cb::telemetry
