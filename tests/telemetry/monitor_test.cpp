// The sampler thread: rate, start/stop, phase tags, and GPU fields with and without a driver.
// GPU readings come from tests/telemetry/fake_nvml (acceptable only because no CI machine has a
// GPU, as issue 7 allows).
#include "telemetry/monitor.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "core/error.h"

namespace cb::telemetry {
namespace {

using namespace std::chrono_literals;
constexpr const char* kNoLibrary = "/nonexistent/libnvidia-ml.so.1";

// Polls until `done` holds or a generous deadline passes (the deadline only guards a hang).
template <typename Predicate>
bool eventually(Predicate done, std::chrono::seconds limit = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
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

// A child process (a Python worker does a trial's math this way) burns CPU while this process
// sleeps: its CPU is the trial's, not "other processes'".
TEST(Monitor, ChildProcessCpuCountsAsThisProcesssNotOthers) {
  const auto done = std::filesystem::temp_directory_path() /
                    ("cifarbench_child_" + std::to_string(getpid()) + ".done");
  std::filesystem::remove(done);
  Monitor sampler(MonitorOptions{}.rate(20).library(kNoLibrary));
  sampler.start();
  const std::string script = "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; : > '" +
                             done.string() + "'; exec sleep 60";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const bool finished = eventually([&] { return std::filesystem::exists(done); }, 120s);
  const auto child_cpu = ProcfsReader().process_cpu(child);
  std::this_thread::sleep_for(200ms);  // a few more samples after the burn
  sampler.stop();
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  std::filesystem::remove(done);
  ASSERT_TRUE(finished);
  ASSERT_TRUE(child_cpu.has_value());
  const double child_seconds =
      static_cast<double>(child_cpu->user_ticks + child_cpu->system_ticks) / clock_ticks_per_second();
  ASSERT_GE(child_seconds, 0.05) << "the child burnt too little CPU to tell";
  // Integrate the process's cores over the samples: at least most of the child's CPU time.
  double seconds = 0, previous_t = 0;
  for (const Sample& s : sampler.log().samples) {
    seconds += s.process_cpu_cores.value_or(0) * (s.t_s - previous_t);
    previous_t = s.t_s;
  }
  EXPECT_GE(seconds, 0.7 * child_seconds);
}

// Memory is this process's plus its descendants', read from a procfs fixture.
TEST(Monitor, MemoryAddsTheDescendantsOfThisProcess) {
  const auto root = std::filesystem::temp_directory_path() /
                    ("cifarbench_monitor_tree_" + std::to_string(getpid()));
  const std::string tail =
      " R 1 77 77 0 -1 4194304 1000 0 0 0 250 40 0 0 20 0 3 0 12345 104857600 2560"
      " 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
  const auto write = [&](const std::string& dir, int pid, int parent, int rss_kb, int peak_kb) {
    std::filesystem::create_directories(root / dir);
    std::ofstream(root / dir / "stat") << pid << " (w) R " << parent << tail.substr(4);
    std::ofstream(root / dir / "status")
        << "VmRSS:\t" << rss_kb << " kB\nVmHWM:\t" << peak_kb << " kB\nThreads:\t3\n";
  };
  write("self", 77, 1, 100, 150);
  write("77", 77, 1, 100, 150);
  write("80", 80, 77, 40, 60);   // the worker
  write("90", 90, 1, 500, 900);  // someone else's
  std::ofstream(root / "stat") << "cpu  1 2 3 4 5 6 7 8 0 0\n";
  Monitor sampler(MonitorOptions{}.rate(100).library(kNoLibrary).procfs(root.string()));
  sampler.start();
  ASSERT_TRUE(eventually([&] { return sampler.sample_count() >= 2; }));
  sampler.stop();
  const Sample s = sampler.log().samples.front();
  EXPECT_EQ(s.rss_bytes, std::optional<std::uint64_t>(140u * 1024));
  EXPECT_EQ(s.peak_rss_bytes, std::optional<std::uint64_t>(210u * 1024));
  EXPECT_EQ(s.threads, std::optional<int>(6));
  std::filesystem::remove_all(root);
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
