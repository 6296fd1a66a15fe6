// The sampler thread: rate, start/stop, phase tags, and GPU fields with and without a driver.
// GPU readings come from tests/telemetry/fake_nvml (acceptable only because no CI machine has a
// GPU, as issue 7 allows).
#include "telemetry/monitor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/error.h"

namespace cb::telemetry {
namespace {

using namespace std::chrono_literals;
constexpr const char* kNoLibrary = "/nonexistent/libnvidia-ml.so.1";

// Polls until `done` holds or a generous deadline passes (the deadline only guards a hang).
template <typename Predicate>
bool eventually(Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

TEST(Monitor, SampleCountFollowsTheRate) {
  Monitor sampler(MonitorOptions{}.rate(50).library(kNoLibrary));
  sampler.start();
  std::this_thread::sleep_for(1s);
  sampler.stop();
  // 50 expected in 1 s; the bounds are loose because the CI machine is shared.
  const std::size_t count = sampler.sample_count();
  EXPECT_GE(count, 10u);
  EXPECT_LE(count, 60u);
}

TEST(Monitor, TimestampsIncrease) {
  Monitor sampler(MonitorOptions{}.rate(200).library(kNoLibrary));
  sampler.start();
  ASSERT_TRUE(eventually([&] { return sampler.sample_count() >= 5; }));
  sampler.stop();
  const SampleLog log = sampler.log();
  for (std::size_t i = 1; i < log.samples.size(); ++i)
    EXPECT_GT(log.samples[i].t_s, log.samples[i - 1].t_s);
}

TEST(Monitor, StopWakesTheThreadInsteadOfWaitingForTheNextTick) {
  // One tick per 1000 s: stop() must not wait for it. The bound only detects a hang.
  Monitor sampler(MonitorOptions{}.rate(0.001).library(kNoLibrary));
  sampler.start();
  const auto before = std::chrono::steady_clock::now();
  sampler.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 10s);
  EXPECT_FALSE(sampler.running());
  EXPECT_EQ(sampler.sample_count(), 1u);  // the closing sample stop() takes
}

TEST(Monitor, StopTwiceAndDestroyWhileRunningAreSafe) {
  {
    Monitor running(MonitorOptions{}.rate(100).library(kNoLibrary));
    running.start();
  }  // destroyed while running: the destructor joins
  Monitor sampler(MonitorOptions{}.rate(100).library(kNoLibrary));
  sampler.start();
  sampler.stop();
  const std::size_t count = sampler.sample_count();
  sampler.stop();
  EXPECT_EQ(sampler.sample_count(), count);
  EXPECT_FALSE(sampler.running());
}

TEST(Monitor, RestartClearsThePreviousLog) {
  Monitor sampler(MonitorOptions{}.rate(200).library(kNoLibrary));
  sampler.set_phase(Phase::eval);
  sampler.start();
  ASSERT_TRUE(eventually([&] { return sampler.sample_count() >= 3; }));
  sampler.stop();
  sampler.set_phase(Phase::train);
  sampler.start();
  sampler.stop();
  for (const Sample& s : sampler.log().samples) EXPECT_EQ(s.phase, Phase::train);
}

TEST(Monitor, SamplesCarryThePhaseSetByTheTrialLoop) {
  Monitor sampler(MonitorOptions{}.rate(200).library(kNoLibrary));
  sampler.start();
  ASSERT_TRUE(eventually([&] { return sampler.sample_count() >= 2; }));
  sampler.set_phase(Phase::train);
  const std::size_t after_idle = sampler.sample_count();
  ASSERT_TRUE(eventually([&] { return sampler.sample_count() >= after_idle + 3; }));
  sampler.set_phase(Phase::eval);
  const std::size_t after_train = sampler.sample_count();
  ASSERT_TRUE(eventually([&] { return sampler.sample_count() >= after_train + 3; }));
  sampler.stop();

  const SampleLog log = sampler.log();
  EXPECT_EQ(log.samples.front().phase, Phase::idle);
  EXPECT_EQ(log.samples.back().phase, Phase::eval);
  // Phases only move forward (idle, then train, then eval) and train was seen.
  bool saw_train = false;
  for (std::size_t i = 1; i < log.samples.size(); ++i) {
    EXPECT_LE(static_cast<int>(log.samples[i - 1].phase), static_cast<int>(log.samples[i].phase));
    saw_train = saw_train || log.samples[i].phase == Phase::train;
  }
  EXPECT_TRUE(saw_train);
}

TEST(Monitor, ProcessReadingsAreFilled) {
  Monitor sampler(MonitorOptions{}.rate(100).library(kNoLibrary));
  sampler.start();
  ASSERT_TRUE(eventually([&] { return sampler.sample_count() >= 3; }));
  sampler.stop();
  const Sample s = sampler.log().samples.front();  // a full period after start
  EXPECT_GT(s.rss_bytes.value_or(0), 0u);
  EXPECT_GE(s.threads.value_or(0), 2);  // this thread and the sampler's
  ASSERT_TRUE(s.process_cpu_cores.has_value());
  EXPECT_GE(*s.process_cpu_cores, 0.0);
}

TEST(Monitor, WithoutADriverGpuFieldsAreNullWithAReason) {
  Monitor sampler(MonitorOptions{}.rate(100).library(kNoLibrary));
  EXPECT_FALSE(sampler.gpu().available);
  EXPECT_EQ(sampler.gpu().not_available_text(), "n/a (no NVIDIA driver)");
  sampler.start();
  ASSERT_TRUE(eventually([&] { return sampler.sample_count() >= 1; }));
  sampler.stop();
  const nlohmann::json j = to_json(sampler.log());
  EXPECT_TRUE(j.at("gpu_unavailable_reason").is_string());
  EXPECT_TRUE(j.at("samples").at(0).at("gpus").is_null());
}

TEST(Monitor, WithNvmlSamplesCarryGpuReadings) {
  Monitor sampler(MonitorOptions{}.rate(100).library(CIFARBENCH_FAKE_NVML));
  ASSERT_TRUE(sampler.gpu().available) << sampler.gpu().reason;
  sampler.start();
  ASSERT_TRUE(eventually([&] { return sampler.sample_count() >= 1; }));
  sampler.stop();
  const Sample s = sampler.log().samples.front();
  ASSERT_EQ(s.gpus.size(), 1u);
  EXPECT_EQ(s.gpus[0].utilization_gpu_percent, 87.0);
  const nlohmann::json j = to_json(s);
  EXPECT_TRUE(j.at("gpus").at(0).at("energy_millijoules").is_null());
  EXPECT_EQ(j.at("gpus").at(0).at("power_watts"), 150.0);
}

TEST(Monitor, DisabledSamplerRecordsNothingAndSaysTelemetryOff) {
  Monitor sampler(MonitorOptions{}.enable(false));
  sampler.start();
  EXPECT_FALSE(sampler.running());
  sampler.stop();
  EXPECT_EQ(sampler.sample_count(), 0u);
  EXPECT_FALSE(sampler.log().enabled);
  EXPECT_EQ(sampler.gpu().not_available_text(), "n/a (telemetry off)");
}

TEST(Monitor, RateOutsideTheRangeIsAnInputError) {
  EXPECT_THROW(Monitor(MonitorOptions{}.rate(0)), InputError);
  EXPECT_THROW(Monitor(MonitorOptions{}.rate(5000)), InputError);
}

TEST(Phase, NamesRoundTrip) {
  for (Phase p : {Phase::idle, Phase::train, Phase::eval}) EXPECT_EQ(parse_phase(phase_name(p)), p);
  EXPECT_THROW(parse_phase("training"), InputError);
}

}  // namespace
}  // namespace cb::telemetry
