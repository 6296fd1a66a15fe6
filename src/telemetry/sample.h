// One telemetry sample (GPU, process and system readings at one instant, tagged with the trial
// phase) and the log of a trial's samples, with their JSON form.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "telemetry/nvml.h"

namespace cb::telemetry {

// What the trial loop is doing; set with Sampler::set_phase, copied into every sample.
enum class Phase { idle, train, eval };
std::string_view phase_name(Phase phase);
// Parses "idle", "train" or "eval"; throws cb::InputError naming the value otherwise.
Phase parse_phase(std::string_view name);

struct Sample {
  double t_s = 0;  // seconds since the sampler started (steady clock)
  Phase phase = Phase::idle;
  std::vector<GpuReading> gpus;               // empty when no GPU is readable
  std::optional<double> process_cpu_cores;    // user+system CPU time / wall time since last sample
  std::optional<double> process_cpu_percent;  // the same, in % of all logical CPUs
  std::optional<double> system_cpu_percent;   // busy share of all CPUs since the last sample
  std::optional<std::uint64_t> rss_bytes;
  std::optional<std::uint64_t> peak_rss_bytes;
  std::optional<int> threads;
  // The machine around the trial (guardrails.h): CPU used by every other process (system busy
  // time, steal excluded, minus this process's), the hypervisor's steal, the 1-minute load
  // average, and the mean CPU clock (read once a second).
  std::optional<double> other_cpu_cores;
  std::optional<double> steal_percent;
  std::optional<double> load_1m;
  std::optional<double> cpu_mhz;
};

// Whether GPU fields can be filled, and if not why: `label` is what text output shows after
// "n/a" ("no NVIDIA driver"), `reason` the full explanation stored as gpu_unavailable_reason.
struct GpuAvailability {
  bool available = false;
  std::string label;
  std::string reason;
  std::vector<std::string> missing_functions;  // NVML functions this driver lacks
  // "n/a (<label>)", the text every unavailable GPU field renders as.
  std::string not_available_text() const { return "n/a (" + label + ")"; }
};

// Everything a sampler recorded between start() and stop().
struct SampleLog {
  bool enabled = true;
  double rate_hz = 10.0;
  double started_unix_s = 0;  // wall-clock time of start(), for lining samples up with logs
  int logical_cpus = 1;
  std::string cpu_governor = "not exposed";  // at start()
  GpuAvailability gpu;
  std::vector<Sample> samples;
};

// JSON: every missing reading is null, never 0; with no GPU, "gpus" is null and the log carries
// "gpu_unavailable_reason".
nlohmann::json to_json(const GpuReading& reading);
nlohmann::json to_json(const Sample& sample);
nlohmann::json to_json(const SampleLog& log);

}  // namespace cb::telemetry
