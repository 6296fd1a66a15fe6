#include "telemetry/guardrails.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "core/json_value.h"

namespace cb::telemetry {
namespace {

struct Series {
  std::vector<double> values;
  void add(const std::optional<double>& v) {
    if (v) values.push_back(*v);
  }
  std::optional<double> mean() const {
    if (values.empty()) return std::nullopt;
    return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  }
  std::optional<double> min() const {
    if (values.empty()) return std::nullopt;
    return *std::min_element(values.begin(), values.end());
  }
  std::optional<double> max() const {
    if (values.empty()) return std::nullopt;
    return *std::max_element(values.begin(), values.end());
  }
  std::optional<double> first() const {
    if (values.empty()) return std::nullopt;
    return values.front();
  }
  std::optional<double> last() const {
    if (values.empty()) return std::nullopt;
    return values.back();
  }
};

void judge(Guardrails& g, int logical_cpus, const GuardrailThresholds& t) {
  const double allowed = std::max(t.other_cores_min, t.other_cpu_share * logical_cpus);
  if (g.other_cpu_cores_mean && *g.other_cpu_cores_mean > allowed) {
    g.busy = true;
    g.reasons.push_back(fmt::format("other processes used {:.2f} cores on average while it trained (limit {:.2f} "
                                    "of {} CPUs)", *g.other_cpu_cores_mean, allowed, logical_cpus));
  }
  if (g.steal_percent_mean && *g.steal_percent_mean > t.steal_percent) {
    g.busy = true;
    g.reasons.push_back(fmt::format("the hypervisor took {:.1f} % of the CPU time (steal; limit {:.0f} %)",
                                    *g.steal_percent_mean, t.steal_percent));
  }
  if (g.cpu_mhz_start && g.cpu_mhz_min && *g.cpu_mhz_min < t.clock_ratio * *g.cpu_mhz_start) {
    g.throttled = true;
    g.reasons.push_back(fmt::format("the CPU clock fell from {:.0f} to {:.0f} MHz", *g.cpu_mhz_start, *g.cpu_mhz_min));
  }
  if (g.gpu_sm_clock_max && g.gpu_sm_clock_min && *g.gpu_sm_clock_min < t.clock_ratio * *g.gpu_sm_clock_max) {
    g.throttled = true;
    g.reasons.push_back(fmt::format("the GPU SM clock fell from {:.0f} to {:.0f} MHz while training",
                                    *g.gpu_sm_clock_max, *g.gpu_sm_clock_min));
  }
}

}  // namespace

std::string Guardrails::status() const {
  if (busy && throttled) return "busy, throttled";
  if (busy) return "busy";
  if (throttled) return "throttled";
  return other_cpu_cores_mean || steal_percent_mean || cpu_mhz_min ? "quiet" : "unknown";
}

Guardrails assess_machine(const SampleLog& log, const GuardrailThresholds& thresholds) {
  const bool any_train = std::any_of(log.samples.begin(), log.samples.end(),
                                     [](const Sample& s) { return s.phase == Phase::train; });
  Series other, steal, load, mhz, sm;
  for (const auto& s : log.samples) {
    load.add(s.load_1m);  // start and end of the whole trial
    if (any_train && s.phase != Phase::train) continue;
    other.add(s.other_cpu_cores);
    steal.add(s.steal_percent);
    mhz.add(s.cpu_mhz);
    for (const auto& gpu : s.gpus) {
      if (gpu.sm_clock_mhz) sm.add(static_cast<double>(*gpu.sm_clock_mhz));
    }
  }
  Guardrails g;
  g.other_cpu_cores_mean = other.mean();
  g.other_cpu_cores_max = other.max();
  g.steal_percent_mean = steal.mean();
  g.load_1m_start = load.first();
  g.load_1m_end = load.last();
  g.load_1m_max = load.max();
  g.cpu_mhz_start = mhz.first();
  g.cpu_mhz_min = mhz.min();
  g.gpu_sm_clock_max = sm.max();
  g.gpu_sm_clock_min = sm.min();
  g.cpu_governor = log.cpu_governor;
  judge(g, log.logical_cpus, thresholds);
  return g;
}

nlohmann::json to_json(const Guardrails& g) {
  return {{"status", g.status()},
          {"busy", g.busy},
          {"throttled", g.throttled},
          {"reasons", g.reasons},
          {"other_cpu_cores_mean", or_null(g.other_cpu_cores_mean)},
          {"other_cpu_cores_max", or_null(g.other_cpu_cores_max)},
          {"steal_percent_mean", or_null(g.steal_percent_mean)},
          {"load_1m_start", or_null(g.load_1m_start)},
          {"load_1m_end", or_null(g.load_1m_end)},
          {"load_1m_max", or_null(g.load_1m_max)},
          {"cpu_mhz_start", or_null(g.cpu_mhz_start)},
          {"cpu_mhz_min", or_null(g.cpu_mhz_min)},
          {"gpu_sm_clock_max_mhz", or_null(g.gpu_sm_clock_max)},
          {"gpu_sm_clock_min_mhz", or_null(g.gpu_sm_clock_min)},
          {"cpu_governor", g.cpu_governor}};
}

}  // namespace cb::telemetry
