// Machine guardrails (src/telemetry/guardrails.h): the procfs readings they use, and the rules
// that mark a trial's machine busy or throttled, on constructed sample logs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "support/temp_dir.h"
#include "telemetry/guardrails.h"
#include "telemetry/procfs.h"

namespace cb::telemetry {
namespace {

TEST(MachineReadings, LoadAverageIsTheFirstField) {
  EXPECT_DOUBLE_EQ(parse_loadavg("0.52 0.58 0.59 1/234 5678\n"), 0.52);
  try {
    parse_loadavg("", "/fixture/loadavg");
    FAIL() << "an empty loadavg was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/fixture/loadavg"), std::string::npos) << e.what();
  }
}

TEST(MachineReadings, CpuClockIsTheMeanOfCpuinfosLines) {
  const char* cpuinfo =
      "processor\t: 0\ncpu MHz\t\t: 2000.000\ncache size\t: 512 KB\n\n"
      "processor\t: 1\ncpu MHz\t\t: 3000.500\n";
  EXPECT_DOUBLE_EQ(*parse_cpu_mhz(cpuinfo), 2500.25);
  EXPECT_FALSE(parse_cpu_mhz("processor\t: 0\nBogoMIPS\t: 50.00\n").has_value());
}

TEST(MachineReadings, StealIsTheEighthValueOfTheCpuLine) {
  const auto t = parse_system_stat("cpu  100 0 50 800 10 0 0 40 0 0\ncpu0 1 2 3 4\n");
  EXPECT_EQ(t.steal, 40u);
  EXPECT_EQ(t.busy, 190u);  // steal is busy time (for this VM's accounting)
  EXPECT_EQ(t.total, 1000u);
}

TEST(MachineReadings, GovernorIsReadFromSysfsOrSaidToBeMissing) {
  cb::testing::TempDir dir;
  EXPECT_EQ(cpu_governor(dir.path().string()), "not exposed");
  const auto folder = dir.path() / "devices/system/cpu/cpu0/cpufreq";
  std::filesystem::create_directories(folder);
  std::ofstream(folder / "scaling_governor") << "performance\n";
  EXPECT_EQ(cpu_governor(dir.path().string()), "performance");
}

Sample train_sample(double other_cores, double steal, double mhz) {
  Sample s;
  s.phase = Phase::train;
  s.other_cpu_cores = other_cores;
  s.steal_percent = steal;
  s.cpu_mhz = mhz;
  s.load_1m = 1.0 + other_cores;
  return s;
}

SampleLog log_of(std::vector<Sample> samples) {
  SampleLog log;
  log.logical_cpus = 2;
  log.samples = std::move(samples);
  return log;
}

TEST(Guardrails, AQuietMachineIsQuiet) {
  const auto g = assess_machine(log_of({train_sample(0.05, 0, 3000), train_sample(0.1, 0.5, 3000)}));
  EXPECT_EQ(g.status(), "quiet");
  EXPECT_TRUE(g.reasons.empty());
  EXPECT_DOUBLE_EQ(*g.other_cpu_cores_mean, 0.075);
  EXPECT_DOUBLE_EQ(*g.load_1m_start, 1.05);
  EXPECT_DOUBLE_EQ(*g.load_1m_end, 1.1);
}

TEST(Guardrails, OtherProcessesAboveAQuarterCoreOnTwoCpusMakeItBusy) {
  // Limit on 2 CPUs: max(0.25, 10 % of 2) = 0.25 cores; mean here 0.6.
  const auto g = assess_machine(log_of({train_sample(0.4, 0, 3000), train_sample(0.8, 0, 3000)}));
  EXPECT_TRUE(g.busy);
  EXPECT_FALSE(g.throttled);
  EXPECT_EQ(g.status(), "busy");
  ASSERT_EQ(g.reasons.size(), 1u);
  EXPECT_NE(g.reasons[0].find("0.60 cores"), std::string::npos) << g.reasons[0];
}

TEST(Guardrails, StealAboveFivePercentMakesItBusy) {
  const auto g = assess_machine(log_of({train_sample(0, 8, 3000), train_sample(0, 4, 3000)}));
  EXPECT_TRUE(g.busy);
  EXPECT_NE(g.reasons.at(0).find("6.0 %"), std::string::npos) << g.reasons[0];
}

TEST(Guardrails, AFallingCpuOrGpuClockMakesItThrottled) {
  auto cpu = assess_machine(log_of({train_sample(0, 0, 3000), train_sample(0, 0, 2400)}));
  EXPECT_TRUE(cpu.throttled);  // 2400 < 0.85 · 3000
  EXPECT_EQ(cpu.status(), "throttled");
  auto slight = assess_machine(log_of({train_sample(0, 0, 3000), train_sample(0, 0, 2700)}));
  EXPECT_FALSE(slight.throttled);

  std::vector<Sample> gpu_samples = {train_sample(0, 0, 3000), train_sample(0, 0, 3000)};
  gpu_samples[0].gpus.push_back(GpuReading{});
  gpu_samples[0].gpus[0].sm_clock_mhz = 1980;
  gpu_samples[1].gpus.push_back(GpuReading{});
  gpu_samples[1].gpus[0].sm_clock_mhz = 1400;
  const auto gpu = assess_machine(log_of(gpu_samples));
  EXPECT_TRUE(gpu.throttled);
  EXPECT_NE(gpu.reasons.at(0).find("1980 to 1400"), std::string::npos) << gpu.reasons[0];
}

TEST(Guardrails, OnlyTheTrainingPhaseCountsAndNoSamplesIsUnknown) {
  auto busy_eval = train_sample(1.5, 0, 3000);
  busy_eval.phase = Phase::eval;
  EXPECT_EQ(assess_machine(log_of({train_sample(0, 0, 3000), busy_eval})).status(), "quiet");
  EXPECT_EQ(assess_machine(log_of({})).status(), "unknown");
}

}  // namespace
}  // namespace cb::telemetry
