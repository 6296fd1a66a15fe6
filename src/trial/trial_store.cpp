#include "trial/trial_store.h"

#include <fmt/format.h>

#include "core/error.h"

namespace cb::trial {
namespace {
std::optional<double> json_number(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number()) return std::nullopt;
  return j[key].get<double>();
}
}  // namespace

TrialStoreWriter::TrialStoreWriter(results::ResultsStore& store, std::int64_t suite_id,
                                   std::string key, nlohmann::json environment)
    : store_(store) {
  auto found = store_.find_trial(suite_id, key);
  if (!found) {
    throw InputError(fmt::format("{}: no trial '{}' in suite {} (trials are planned by `cifarbench run`)",
                                 store_.database_path().string(), key, suite_id));
  }
  record_ = *found;
  record_.environment = std::move(environment);
}

void TrialStoreWriter::on_start(const TrialStart& start) {
  // The suite's planned configuration stays beside what the trial resolved: a resume compares it.
  nlohmann::json planned;
  if (record_.config.is_object() && record_.config.contains("planned")) planned = record_.config["planned"];
  record_.config = start.config;
  if (!planned.is_null()) record_.config["planned"] = std::move(planned);
  record_.dataset = start.dataset;
  record_.synthetic = start.synthetic;
  record_.target_accuracy = start.spec.recipe.target_accuracy;
  record_.status = results::TrialStatus::running;
  store_.upsert_trial(record_);
  store_.set_trial_status(record_.id, results::TrialStatus::running);  // stamps `started`
}

void TrialStoreWriter::on_epoch(const TrialOutcome&, const EpochStats& e) {
  results::EpochRecord r;
  r.trial_id = record_.id;
  r.epoch = e.epoch;
  r.train_loss = e.train_loss;
  r.train_accuracy = e.train_accuracy;
  r.test_accuracy = e.test_accuracy;
  r.epoch_time_s = e.epoch_time_s;
  r.training_time_s = e.training_time_s;
  r.images_per_s = e.images_per_s;
  store_.add_epoch(r);
}

void TrialStoreWriter::on_finish(const TrialOutcome& o, const telemetry::SampleLog& log) {
  std::vector<results::TelemetrySample> samples;
  samples.reserve(log.samples.size());
  for (const auto& s : log.samples) {
    results::TelemetrySample t;
    t.trial_id = record_.id;
    t.t_s = s.t_s;
    t.phase = std::string(telemetry::phase_name(s.phase));
    // Several GPUs: utilization is their mean, memory and power their sums.
    double util = 0, mem = 0, power = 0;
    int n_util = 0, n_mem = 0, n_power = 0;
    for (const auto& g : s.gpus) {
      if (g.utilization_gpu_percent) {
        util += *g.utilization_gpu_percent;
        ++n_util;
      }
      if (g.memory_used_bytes) {
        mem += static_cast<double>(*g.memory_used_bytes);
        ++n_mem;
      }
      if (g.power_watts) {
        power += *g.power_watts;
        ++n_power;
      }
    }
    if (n_util) t.gpu_util_pct = util / n_util;
    if (n_mem) t.gpu_mem_bytes = mem;
    if (n_power) t.power_w = power;
    t.cpu_util_pct = s.process_cpu_percent;
    if (s.rss_bytes) t.rss_bytes = static_cast<double>(*s.rss_bytes);
    samples.push_back(std::move(t));
  }
  if (!samples.empty()) store_.add_samples(samples);

  record_.test_accuracy = o.test_accuracy;
  record_.training_time_s = o.training_time_s;
  record_.wall_time_s = o.wall_time_s;
  record_.time_to_target_s = o.time_to_target_s;
  record_.images_per_s = o.images_per_s;
  record_.telemetry = o.telemetry;
  record_.gpu_util_mean_pct = json_number(o.telemetry, "gpu_utilization_mean_percent");
  record_.gpu_mem_peak_bytes = json_number(o.telemetry, "peak_gpu_memory_bytes");
  record_.cpu_util_mean_pct = json_number(o.telemetry, "process_cpu_percent_mean");
  record_.rss_peak_bytes = json_number(o.telemetry, "peak_rss_bytes");
  record_.energy_j = json_number(o.telemetry, "energy_joules");
  if (o.telemetry.contains("gpu_unavailable_reason") && o.telemetry["gpu_unavailable_reason"].is_string()) {
    record_.gpu_unavailable_reason = o.telemetry["gpu_unavailable_reason"].get<std::string>();
  }
  record_.status = o.state;
  record_.error = o.error;
  store_.upsert_trial(record_);
  store_.set_trial_status(record_.id, record_.status, o.error);
}

}  // namespace cb::trial
