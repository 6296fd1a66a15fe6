// A trial's telemetry in a few numbers: GPU utilization over the training phase (the paper's
// metric), peak GPU memory, energy, CPU and memory; as JSON and as the text `train` prints.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "telemetry/guardrails.h"
#include "telemetry/sample.h"

namespace cb::telemetry {

struct TelemetrySummary {
  bool enabled = true;
  double rate_hz = 0;
  std::size_t samples = 0;
  std::size_t train_samples = 0;
  double duration_s = 0;  // time of the last sample
  int logical_cpus = 1;
  GpuAvailability gpu;

  // Train-phase samples only; per sample, the mean over GPUs that reported it.
  std::optional<double> gpu_utilization_mean_percent;
  std::optional<double> gpu_utilization_median_percent;
  std::optional<double> gpu_utilization_p95_percent;
  std::optional<std::uint64_t> peak_gpu_memory_bytes;  // all phases, summed over GPUs
  std::optional<double> energy_joules;                 // all phases, summed over GPUs
  std::optional<double> train_energy_joules;           // intervals ending in a train sample
  std::optional<double> joules_per_training_image;     // train_energy_joules / images
  std::string energy_method;  // "energy counter", "integrated power" or "mixed"; "" if none

  std::optional<double> process_cpu_cores_mean;
  std::optional<double> process_cpu_percent_mean;
  std::optional<double> system_cpu_percent_mean;
  std::optional<std::uint64_t> peak_rss_bytes;

  Guardrails machine;  // whether the machine was quiet while it trained (guardrails.h)
};

// Summarizes a log; `training_images` is how many images the trial trained on (0: unknown).
TelemetrySummary summarize(const SampleLog& log, std::uint64_t training_images);

// Percentile by linear interpolation between closest ranks (q in [0, 1]); empty for no values.
std::optional<double> percentile(std::vector<double> values, double q);

// JSON: GPU fields are null, never 0, when unavailable, with "gpu_unavailable_reason".
nlohmann::json to_json(const TelemetrySummary& summary);
// The block `cifarbench train` prints at the end of a run; GPU fields read "n/a (...)".
std::string format_summary(const TelemetrySummary& summary);

}  // namespace cb::telemetry
