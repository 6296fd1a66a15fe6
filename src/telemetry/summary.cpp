#include "telemetry/summary.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/json_value.h"

namespace cb::telemetry {
namespace {

std::optional<double> mean(const std::vector<double>& values) {
  if (values.empty()) return std::nullopt;
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

std::string bytes_text(std::uint64_t bytes) {
  const double gib = static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0);
  if (gib >= 1.0) return fmt::format("{:.2f} GiB", gib);
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

// Energy of one GPU between two samples: counter difference when both have it, else trapezoid.
struct IntervalEnergy {
  std::optional<double> joules;
  bool from_counter = false;
};
IntervalEnergy interval_energy(const GpuReading& a, const GpuReading& b, double seconds) {
  if (a.energy_millijoules && b.energy_millijoules &&
      *b.energy_millijoules >= *a.energy_millijoules)
    return {static_cast<double>(*b.energy_millijoules - *a.energy_millijoules) / 1000.0, true};
  if (a.power_watts && b.power_watts)
    return {0.5 * (*a.power_watts + *b.power_watts) * seconds, false};
  return {};
}

}  // namespace

std::optional<double> percentile(std::vector<double> values, double q) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size() - 1);
  const auto lower = static_cast<std::size_t>(std::floor(rank));
  const std::size_t upper = std::min(lower + 1, values.size() - 1);
  return values[lower] + (rank - static_cast<double>(lower)) * (values[upper] - values[lower]);
}

TelemetrySummary summarize(const SampleLog& log, std::uint64_t training_images) {
  TelemetrySummary s;
  s.enabled = log.enabled;
  s.rate_hz = log.rate_hz;
  s.samples = log.samples.size();
  s.logical_cpus = log.logical_cpus;
  s.gpu = log.gpu;
  if (!log.samples.empty()) s.duration_s = log.samples.back().t_s;

  std::vector<double> train_utilization, cpu_cores, cpu_percent, system_percent;
  bool any_counter = false, any_integrated = false;
  for (std::size_t i = 0; i < log.samples.size(); ++i) {
    const Sample& sample = log.samples[i];
    const bool train = sample.phase == Phase::train;
    if (train) ++s.train_samples;

    std::vector<double> utilization;
    std::optional<std::uint64_t> memory_used;
    for (const auto& g : sample.gpus) {
      if (g.utilization_gpu_percent) utilization.push_back(*g.utilization_gpu_percent);
      if (g.memory_used_bytes) memory_used = memory_used.value_or(0) + *g.memory_used_bytes;
    }
    if (train && !utilization.empty()) train_utilization.push_back(*mean(utilization));
    if (memory_used)
      s.peak_gpu_memory_bytes = std::max(s.peak_gpu_memory_bytes.value_or(0), *memory_used);

    // The interval since the previous sample is charged to this sample's phase.
    if (i > 0) {
      const Sample& previous = log.samples[i - 1];
      const double seconds = sample.t_s - previous.t_s;
      for (const auto& g : sample.gpus) {
        const auto before = std::find_if(previous.gpus.begin(), previous.gpus.end(),
                                         [&](const GpuReading& p) { return p.index == g.index; });
        if (before == previous.gpus.end()) continue;
        const IntervalEnergy e = interval_energy(*before, g, seconds);
        if (!e.joules) continue;
        (e.from_counter ? any_counter : any_integrated) = true;
        s.energy_joules = s.energy_joules.value_or(0) + *e.joules;
        if (train) s.train_energy_joules = s.train_energy_joules.value_or(0) + *e.joules;
      }
    }
    if (sample.process_cpu_cores) cpu_cores.push_back(*sample.process_cpu_cores);
    if (sample.process_cpu_percent) cpu_percent.push_back(*sample.process_cpu_percent);
    if (sample.system_cpu_percent) system_percent.push_back(*sample.system_cpu_percent);
    if (sample.peak_rss_bytes)
      s.peak_rss_bytes = std::max(s.peak_rss_bytes.value_or(0), *sample.peak_rss_bytes);
    else if (sample.rss_bytes)
      s.peak_rss_bytes = std::max(s.peak_rss_bytes.value_or(0), *sample.rss_bytes);
  }
  s.gpu_utilization_mean_percent = mean(train_utilization);
  s.gpu_utilization_median_percent = percentile(train_utilization, 0.5);
  s.gpu_utilization_p95_percent = percentile(train_utilization, 0.95);
  if (any_counter && any_integrated)
    s.energy_method = "mixed";
  else if (any_counter)
    s.energy_method = "energy counter";
  else if (any_integrated)
    s.energy_method = "integrated power";
  if (s.train_energy_joules && training_images > 0)
    s.joules_per_training_image = *s.train_energy_joules / static_cast<double>(training_images);
  s.process_cpu_cores_mean = mean(cpu_cores);
  s.process_cpu_percent_mean = mean(cpu_percent);
  s.system_cpu_percent_mean = mean(system_percent);
  s.machine = assess_machine(log);
  return s;
}

nlohmann::json to_json(const TelemetrySummary& s) {
  nlohmann::json j = {{"enabled", s.enabled},
                      {"rate_hz", s.rate_hz},
                      {"samples", s.samples},
                      {"train_samples", s.train_samples},
                      {"duration_s", s.duration_s},
                      {"logical_cpus", s.logical_cpus},
                      {"gpu_unavailable_reason",
                       s.gpu.available ? nlohmann::json(nullptr) : nlohmann::json(s.gpu.reason)},
                      {"gpu_missing_functions", s.gpu.missing_functions},
                      {"gpu_utilization_mean_percent", or_null(s.gpu_utilization_mean_percent)},
                      {"gpu_utilization_median_percent", or_null(s.gpu_utilization_median_percent)},
                      {"gpu_utilization_p95_percent", or_null(s.gpu_utilization_p95_percent)},
                      {"peak_gpu_memory_bytes", or_null(s.peak_gpu_memory_bytes)},
                      {"energy_joules", or_null(s.energy_joules)},
                      {"train_energy_joules", or_null(s.train_energy_joules)},
                      {"joules_per_training_image", or_null(s.joules_per_training_image)},
                      {"energy_method", s.energy_method.empty() ? nlohmann::json(nullptr)
                                                                : nlohmann::json(s.energy_method)},
                      {"process_cpu_cores_mean", or_null(s.process_cpu_cores_mean)},
                      {"process_cpu_percent_mean", or_null(s.process_cpu_percent_mean)},
                      {"system_cpu_percent_mean", or_null(s.system_cpu_percent_mean)},
                      {"peak_rss_bytes", or_null(s.peak_rss_bytes)},
                      {"guardrails", to_json(s.machine)}};
  return j;
}

std::string format_summary(const TelemetrySummary& s) {
  // Why a GPU field is empty: no GPU at all, or this driver/phase did not provide it.
  auto gpu_na = [&](const char* otherwise) {
    return s.gpu.available ? fmt::format("n/a ({})", otherwise) : s.gpu.not_available_text();
  };
  std::string out = fmt::format("telemetry: {} samples at {:g} Hz over {:.1f} s, {} in training\n",
                                s.samples, s.rate_hz, s.duration_s, s.train_samples);
  if (s.gpu_utilization_mean_percent) {
    out += fmt::format("  GPU utilization (train)  mean {:.1f} %, median {:.1f} %, p95 {:.1f} %\n",
                       *s.gpu_utilization_mean_percent, *s.gpu_utilization_median_percent,
                       *s.gpu_utilization_p95_percent);
  } else {
    out += fmt::format(
        "  GPU utilization (train)  {}\n",
        gpu_na(s.train_samples == 0 ? "no training-phase samples" : "not reported by this driver"));
  }
  out += fmt::format("  peak GPU memory          {}\n",
                     s.peak_gpu_memory_bytes ? bytes_text(*s.peak_gpu_memory_bytes)
                                             : gpu_na("not reported by this driver"));
  if (s.energy_joules) {
    std::string line =
        fmt::format("  GPU energy               {:.1f} J ({})", *s.energy_joules, s.energy_method);
    if (s.joules_per_training_image)
      line += fmt::format(", {:.3g} J per training image", *s.joules_per_training_image);
    out += line + "\n";
  } else {
    out += fmt::format(
        "  GPU energy               {}\n",
        gpu_na(s.samples < 2 ? "fewer than two samples" : "no energy counter or power reading"));
  }
  if (s.process_cpu_cores_mean) {
    out += fmt::format(
        "  process CPU              mean {:.2f} cores ({:.1f} % of {} logical CPUs)\n",
        *s.process_cpu_cores_mean, s.process_cpu_percent_mean.value_or(0), s.logical_cpus);
  } else {
    out += fmt::format("  process CPU              n/a ({})\n",
                       s.enabled ? "no procfs reading" : "telemetry off");
  }
  out += s.system_cpu_percent_mean
             ? fmt::format("  system CPU               mean {:.1f} %\n", *s.system_cpu_percent_mean)
             : fmt::format("  system CPU               n/a ({})\n",
                           s.enabled ? "no procfs reading" : "telemetry off");
  out += s.peak_rss_bytes
             ? fmt::format("  peak RSS                 {}\n", bytes_text(*s.peak_rss_bytes))
             : fmt::format("  peak RSS                 n/a ({})\n",
                           s.enabled ? "no procfs reading" : "telemetry off");
  out += fmt::format("  machine                  {}{}\n", s.machine.status(),
                     s.machine.reasons.empty() ? "" : ": " + fmt::format("{}", fmt::join(s.machine.reasons, "; ")));
  return out;
}

}  // namespace cb::telemetry
