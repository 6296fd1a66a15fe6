// Machine guardrails: whether a trial ran on a quiet machine. From the samples of its training
// phase: how much CPU every other process used, the hypervisor's steal, the load average at
// start and end, the CPU clock (cpuinfo) and governor, and on a GPU the SM clock. A trial is
// marked `busy` or `throttled` with the reasons, which the report carries to every comparison
// the trial is part of (docs/telemetry.md).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "telemetry/sample.h"

namespace cb::telemetry {

// The thresholds (docs/telemetry.md): other processes' mean CPU above max(0.25 cores, 10 % of
// the CPUs), or mean steal above 5 %, make a machine busy; a clock whose minimum falls below
// 85 % of its first reading (CPU) or of its highest (GPU SM) makes it throttled.
struct GuardrailThresholds {
  double other_cores_min = 0.25;
  double other_cpu_share = 0.10;
  double steal_percent = 5.0;
  double clock_ratio = 0.85;
};

struct Guardrails {
  std::optional<double> other_cpu_cores_mean, other_cpu_cores_max;
  std::optional<double> steal_percent_mean;
  std::optional<double> load_1m_start, load_1m_end, load_1m_max;
  std::optional<double> cpu_mhz_start, cpu_mhz_min;
  std::optional<double> gpu_sm_clock_max, gpu_sm_clock_min;
  std::string cpu_governor;
  bool busy = false;
  bool throttled = false;
  std::vector<std::string> reasons;  // one sentence each, with the numbers
  // "quiet", "busy", "throttled" or "busy, throttled"; "unknown" with no samples.
  std::string status() const;
};

// From the train-phase samples (all samples when none is tagged train).
Guardrails assess_machine(const SampleLog& log, const GuardrailThresholds& thresholds = {});

nlohmann::json to_json(const Guardrails& g);

}  // namespace cb::telemetry
