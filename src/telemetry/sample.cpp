#include "telemetry/sample.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_value.h"

namespace cb::telemetry {
std::string_view phase_name(Phase phase) {
  switch (phase) {
    case Phase::train:
      return "train";
    case Phase::eval:
      return "eval";
    case Phase::idle:
      break;
  }
  return "idle";
}

Phase parse_phase(std::string_view name) {
  if (name == "idle") return Phase::idle;
  if (name == "train") return Phase::train;
  if (name == "eval") return Phase::eval;
  throw InputError(fmt::format("telemetry phase '{}': expected idle, train or eval", name));
}

nlohmann::json to_json(const GpuReading& r) {
  return {{"index", r.index},
          {"utilization_gpu_percent", or_null(r.utilization_gpu_percent)},
          {"utilization_memory_percent", or_null(r.utilization_memory_percent)},
          {"memory_used_bytes", or_null(r.memory_used_bytes)},
          {"memory_total_bytes", or_null(r.memory_total_bytes)},
          {"power_watts", or_null(r.power_watts)},
          {"energy_millijoules", or_null(r.energy_millijoules)},
          {"sm_clock_mhz", or_null(r.sm_clock_mhz)},
          {"temperature_celsius", or_null(r.temperature_celsius)}};
}

nlohmann::json to_json(const Sample& s) {
  nlohmann::json gpus = nullptr;
  if (!s.gpus.empty()) {
    gpus = nlohmann::json::array();
    for (const auto& g : s.gpus) gpus.push_back(to_json(g));
  }
  return {{"t_s", s.t_s},
          {"phase", phase_name(s.phase)},
          {"gpus", gpus},
          {"process_cpu_cores", or_null(s.process_cpu_cores)},
          {"process_cpu_percent", or_null(s.process_cpu_percent)},
          {"system_cpu_percent", or_null(s.system_cpu_percent)},
          {"rss_bytes", or_null(s.rss_bytes)},
          {"peak_rss_bytes", or_null(s.peak_rss_bytes)},
          {"threads", or_null(s.threads)},
          {"other_cpu_cores", or_null(s.other_cpu_cores)},
          {"steal_percent", or_null(s.steal_percent)},
          {"load_1m", or_null(s.load_1m)},
          {"cpu_mhz", or_null(s.cpu_mhz)}};
}

nlohmann::json to_json(const SampleLog& log) {
  nlohmann::json samples = nlohmann::json::array();
  for (const auto& s : log.samples) samples.push_back(to_json(s));
  return {{"enabled", log.enabled},
          {"rate_hz", log.rate_hz},
          {"started_unix_s", log.started_unix_s},
          {"logical_cpus", log.logical_cpus},
          {"cpu_governor", log.cpu_governor},
          {"gpu_unavailable_reason",
           log.gpu.available ? nlohmann::json(nullptr) : nlohmann::json(log.gpu.reason)},
          {"gpu_missing_functions", log.gpu.missing_functions},
          {"samples", samples}};
}

}  // namespace cb::telemetry
