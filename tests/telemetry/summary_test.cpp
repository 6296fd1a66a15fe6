// Per-trial summaries over hand-made sample logs, their JSON and their text.
#include "telemetry/summary.h"

#include <gtest/gtest.h>

namespace cb::telemetry {
namespace {

GpuReading gpu(double utilization, std::uint64_t memory_used, std::optional<double> watts,
               std::optional<std::uint64_t> millijoules) {
  GpuReading r;
  r.utilization_gpu_percent = utilization;
  r.memory_used_bytes = memory_used;
  r.power_watts = watts;
  r.energy_millijoules = millijoules;
  return r;
}

Sample sample(double t, Phase phase, std::vector<GpuReading> gpus = {}) {
  Sample s;
  s.t_s = t;
  s.phase = phase;
  s.gpus = std::move(gpus);
  return s;
}

SampleLog log_with_gpu(std::vector<Sample> samples) {
  SampleLog log;
  log.gpu.available = true;
  log.samples = std::move(samples);
  return log;
}

SampleLog log_without_driver() {
  SampleLog log;
  log.gpu = {false, "no NVIDIA driver", "no NVIDIA driver found (libnvidia-ml.so.1 ...)", {}};
  log.samples = {sample(0.1, Phase::train), sample(0.2, Phase::train)};
  return log;
}

TEST(Percentile, InterpolatesBetweenClosestRanks) {
  EXPECT_EQ(percentile({10, 20, 30, 40}, 0.5), 25.0);
  EXPECT_EQ(percentile({0, 100}, 0.95), 95.0);
  EXPECT_EQ(percentile({7}, 0.95), 7.0);
  EXPECT_FALSE(percentile({}, 0.5).has_value());
}

TEST(Summary, GpuUtilizationCountsTrainingSamplesOnly) {
  const auto s = summarize(log_with_gpu({sample(0.1, Phase::idle, {gpu(0, 0, 50, {})}),
                                         sample(0.2, Phase::train, {gpu(80, 0, 50, {})}),
                                         sample(0.3, Phase::train, {gpu(90, 0, 50, {})}),
                                         sample(0.4, Phase::train, {gpu(100, 0, 50, {})}),
                                         sample(0.5, Phase::eval, {gpu(10, 0, 50, {})})}),
                           0);
  EXPECT_EQ(s.train_samples, 3u);
  EXPECT_DOUBLE_EQ(*s.gpu_utilization_mean_percent, 90.0);
  EXPECT_DOUBLE_EQ(*s.gpu_utilization_median_percent, 90.0);
  EXPECT_DOUBLE_EQ(*s.gpu_utilization_p95_percent, 99.0);
}

TEST(Summary, EnergyIsTheCounterDifferenceWhenTheDriverHasOne) {
  const auto s = summarize(log_with_gpu({sample(1, Phase::train, {gpu(0, 0, 999, 10'000)}),
                                         sample(2, Phase::train, {gpu(0, 0, 999, 12'500)})}),
                           0);
  EXPECT_DOUBLE_EQ(*s.energy_joules, 2.5);
  EXPECT_EQ(s.energy_method, "energy counter");
}

TEST(Summary, EnergyIntegratesPowerWithoutACounter) {
  const auto s = summarize(log_with_gpu({sample(0, Phase::train, {gpu(0, 0, 100, {})}),
                                         sample(1, Phase::train, {gpu(0, 0, 200, {})}),
                                         sample(3, Phase::train, {gpu(0, 0, 200, {})})}),
                           0);
  EXPECT_DOUBLE_EQ(*s.energy_joules, 150.0 + 400.0);
  EXPECT_EQ(s.energy_method, "integrated power");
}

TEST(Summary, JoulesPerTrainingImageUseTrainPhaseEnergy) {
  const auto s = summarize(log_with_gpu({sample(0, Phase::idle, {gpu(0, 0, 100, {})}),
                                         sample(1, Phase::train, {gpu(0, 0, 100, {})}),
                                         sample(2, Phase::train, {gpu(0, 0, 100, {})}),
                                         sample(3, Phase::eval, {gpu(0, 0, 100, {})})}),
                           50);
  EXPECT_DOUBLE_EQ(*s.energy_joules, 300.0);
  EXPECT_DOUBLE_EQ(*s.train_energy_joules, 200.0);
  EXPECT_DOUBLE_EQ(*s.joules_per_training_image, 4.0);
}

TEST(Summary, PeakGpuMemorySumsDevices) {
  GpuReading second = gpu(0, 300, {}, {});
  second.index = 1;
  const auto s = summarize(log_with_gpu({sample(0, Phase::train, {gpu(0, 100, {}, {}), second}),
                                         sample(1, Phase::train, {gpu(0, 500, {}, {})})}),
                           0);
  EXPECT_EQ(s.peak_gpu_memory_bytes, 500u);
}

TEST(Summary, CpuMeansAndPeakRss) {
  SampleLog log = log_without_driver();
  log.samples[0].process_cpu_cores = 1.0;
  log.samples[0].process_cpu_percent = 50.0;
  log.samples[0].peak_rss_bytes = 1000;
  log.samples[1].process_cpu_cores = 2.0;
  log.samples[1].process_cpu_percent = 100.0;
  log.samples[1].system_cpu_percent = 70.0;
  log.samples[1].peak_rss_bytes = 3000;
  const auto s = summarize(log, 0);
  EXPECT_DOUBLE_EQ(*s.process_cpu_cores_mean, 1.5);
  EXPECT_DOUBLE_EQ(*s.process_cpu_percent_mean, 75.0);
  EXPECT_DOUBLE_EQ(*s.system_cpu_percent_mean, 70.0);
  EXPECT_EQ(s.peak_rss_bytes, 3000u);
}

TEST(Summary, WithoutADriverGpuJsonFieldsAreNullWithAReason) {
  const nlohmann::json j = to_json(summarize(log_without_driver(), 1000));
  for (const char* key : {"gpu_utilization_mean_percent", "gpu_utilization_median_percent",
                          "gpu_utilization_p95_percent", "peak_gpu_memory_bytes", "energy_joules",
                          "joules_per_training_image"})
    EXPECT_TRUE(j.at(key).is_null()) << key;
  EXPECT_NE(j.at("gpu_unavailable_reason").get<std::string>().find("no NVIDIA driver"),
            std::string::npos);
}

TEST(Summary, WithoutADriverEveryGpuLineSaysNotAvailable) {
  const std::string text = format_summary(summarize(log_without_driver(), 1000));
  for (const char* line : {"GPU utilization (train)  n/a (no NVIDIA driver)",
                           "peak GPU memory          n/a (no NVIDIA driver)",
                           "GPU energy               n/a (no NVIDIA driver)"})
    EXPECT_NE(text.find(line), std::string::npos) << text;
}

TEST(Summary, TextShowsGpuStatisticsWhenPresent) {
  const std::string text =
      format_summary(summarize(log_with_gpu({sample(0, Phase::train, {gpu(50, 1 << 30, 100, {})}),
                                             sample(1, Phase::train, {gpu(70, 1 << 30, 100, {})})}),
                               10));
  EXPECT_NE(text.find("mean 60.0 %, median 60.0 %, p95 69.0 %"), std::string::npos) << text;
  EXPECT_NE(text.find("1.00 GiB"), std::string::npos) << text;
  EXPECT_NE(text.find("100.0 J (integrated power), 10 J per training image"), std::string::npos)
      << text;
}

TEST(Summary, GpuPresentWithoutTrainingSamplesSaysWhy) {
  const std::string text =
      format_summary(summarize(log_with_gpu({sample(0, Phase::eval, {gpu(50, 1, {}, {})})}), 0));
  EXPECT_NE(text.find("n/a (no training-phase samples)"), std::string::npos) << text;
}

}  // namespace
}  // namespace cb::telemetry
