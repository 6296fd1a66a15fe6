#include "suite/trial_import.h"

#include <algorithm>
#include <cctype>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace cb::suite {
namespace {

std::optional<double> number(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return std::nullopt;
  return j[key].get<double>();
}

results::EpochRecord epoch_record(std::int64_t trial_id, const nlohmann::json& e) {
  results::EpochRecord r;
  r.trial_id = trial_id;
  r.epoch = e.value("epoch", 0);
  r.train_loss = e.value("train_loss", 0.0);
  r.train_accuracy = e.value("train_accuracy", 0.0);
  r.test_accuracy = number(e, "test_accuracy");
  r.epoch_time_s = e.value("epoch_time_s", 0.0);
  r.training_time_s = e.value("training_time_s", 0.0);
  r.images_per_s = e.value("images_per_s", 0.0);
  return r;
}

// The trial's resolved configuration (the planned one kept beside it) and environment.
void import_start(results::TrialRecord& rec, const nlohmann::json& doc) {
  nlohmann::json planned;
  if (rec.config.is_object() && rec.config.contains("planned")) planned = rec.config["planned"];
  rec.config = doc["config"];
  if (!planned.is_null()) rec.config["planned"] = std::move(planned);
  if (doc.contains("environment")) rec.environment = doc["environment"];
  const nlohmann::json& result = doc["result"];
  if (result.contains("dataset") && result["dataset"].is_string()) rec.dataset = result["dataset"];
  if (result.contains("synthetic_data") && result["synthetic_data"].is_boolean()) {
    rec.synthetic = result["synthetic_data"].get<bool>();
  }
  const nlohmann::json& train = rec.config["recipe"]["train"];
  rec.target_accuracy = number(train, "target_accuracy");
}

// The final figures of an ended trial, as TrialStoreWriter::on_finish stores them.
void import_end(results::TrialRecord& rec, const nlohmann::json& result) {
  rec.test_accuracy = number(result, "test_accuracy");
  rec.training_time_s = result.value("training_time_s", 0.0);
  rec.wall_time_s = result.value("wall_time_s", 0.0);
  rec.time_to_target_s = number(result, "time_to_target_s");
  rec.images_per_s = result.value("images_per_s", 0.0);
  const nlohmann::json telemetry = result.value("telemetry", nlohmann::json::object());
  rec.telemetry = telemetry;
  rec.gpu_util_mean_pct = number(telemetry, "gpu_utilization_mean_percent");
  rec.gpu_mem_peak_bytes = number(telemetry, "peak_gpu_memory_bytes");
  rec.cpu_util_mean_pct = number(telemetry, "process_cpu_percent_mean");
  rec.rss_peak_bytes = number(telemetry, "peak_rss_bytes");
  rec.energy_j = number(telemetry, "energy_joules");
  if (telemetry.is_object() && telemetry.contains("gpu_unavailable_reason") &&
      telemetry["gpu_unavailable_reason"].is_string()) {
    rec.gpu_unavailable_reason = telemetry["gpu_unavailable_reason"].get<std::string>();
  }
}

}  // namespace

std::filesystem::path trial_directory(const std::filesystem::path& results_dir, const std::string& key) {
  std::string out;
  for (char c : key) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '_';
  return results_dir / "trials" / out;
}

ImportedTrial import_trial_files(results::ResultsStore& store, const results::TrialRecord& record,
                                 const std::filesystem::path& dir, int known_epochs) {
  ImportedTrial out;
  std::ifstream in(dir / "result.json");
  if (!in) return out;
  // result.json is replaced atomically, so a parse failure is a file of another kind.
  const nlohmann::json doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("config") || !doc.contains("result") ||
      !doc["result"].is_object()) {
    return out;
  }
  const nlohmann::json& result = doc["result"];
  try {
    out.status = results::parse_trial_status(result.value("status", std::string("running")));
  } catch (const InputError&) {
    return out;
  }
  out.found = true;
  out.error = result.value("error", std::string());
  results::TrialRecord rec = record;
  const bool first = record.status == results::TrialStatus::planned || known_epochs == 0;
  if (first) {
    import_start(rec, doc);
    if (!results::is_terminal(rec.status)) rec.status = results::TrialStatus::running;
    store.upsert_trial(rec);
    if (record.status == results::TrialStatus::planned) store.set_trial_status(rec.id, results::TrialStatus::running);
  }
  if (result.contains("epochs") && result["epochs"].is_array()) {
    const auto& epochs = result["epochs"];
    out.epochs = static_cast<int>(epochs.size());
    for (std::size_t i = static_cast<std::size_t>(std::max(known_epochs, 0)); i < epochs.size(); ++i) {
      store.add_epoch(epoch_record(rec.id, epochs[i]));
      ++out.new_epochs;
    }
  }
  if (results::is_terminal(out.status)) {
    import_end(rec, result);
    rec.status = out.status;
    rec.error = out.error;
    store.upsert_trial(rec);
    store.set_trial_status(rec.id, out.status, out.error);
  }
  return out;
}

}  // namespace cb::suite
