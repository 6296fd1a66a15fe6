// The records the results store keeps: plain structs, one per table (docs/results.md).
// Accuracies are fractions in [0, 1]; times are seconds; memory is bytes; energy is joules.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cb::results {

// A trial's life: planned -> running -> one of the terminal states.
enum class TrialStatus { planned, running, completed, failed, diverged, interrupted, timeout };
std::string_view to_string(TrialStatus status);
// Parses a stored status name; throws InputError naming the value.
TrialStatus parse_trial_status(std::string_view name);
// True for completed, failed, diverged, interrupted and timeout.
bool is_terminal(TrialStatus status);

struct SuiteRecord {
  std::int64_t id = 0;  // set by the store
  std::string name;     // unique within a results directory
  std::string file;     // the suite file it came from ("" for ad-hoc suites)
  nlohmann::json config = nlohmann::json::object();
  std::string created;  // ISO 8601 UTC, set by the store
};

struct TrialRecord {
  std::int64_t id = 0;  // set by the store
  std::int64_t suite_id = 0;
  std::string key;  // unique within the suite, e.g. "torch/resnet20/default/seed=1"
  std::string framework, model, recipe;
  std::uint64_t seed = 0;
  int threads = 0;
  int batch_size = 0;
  std::string device = "cpu";
  int processes = 1;
  std::string dataset;
  bool synthetic = false;  // synthetic data: speed is valid, accuracy is not CIFAR-10's
  nlohmann::json config = nlohmann::json::object();       // the full trial configuration
  nlohmann::json environment = nlohmann::json::object();  // the `cifarbench env` record
  TrialStatus status = TrialStatus::planned;
  std::string error;           // message and the tail of stderr, for failed trials
  std::string started, ended;  // ISO 8601 UTC; empty until set
  // Final metrics; absent until the trial produces them.
  std::optional<double> test_accuracy;
  std::optional<double> target_accuracy;  // the recipe's target, for time-to-accuracy
  std::optional<double> training_time_s;
  std::optional<double> wall_time_s;
  std::optional<double> time_to_target_s;  // absent when the target was never reached
  std::optional<double> images_per_s;
  // Telemetry summary: the full JSON plus the columns the report tabulates.
  nlohmann::json telemetry = nlohmann::json::object();
  std::optional<double> gpu_util_mean_pct;
  std::optional<double> gpu_mem_peak_bytes;
  std::optional<double> cpu_util_mean_pct;
  std::optional<double> rss_peak_bytes;
  std::optional<double> energy_j;
  std::string gpu_unavailable_reason;  // why GPU columns are absent, e.g. "no NVIDIA driver"
};

struct EpochRecord {
  std::int64_t trial_id = 0;
  int epoch = 0;  // 1-based
  double train_loss = 0;
  double train_accuracy = 0;
  std::optional<double> test_accuracy;  // absent when this epoch was not evaluated
  double epoch_time_s = 0;              // training time of this epoch
  double training_time_s = 0;           // cumulative training time up to its end
  double images_per_s = 0;
};

struct TelemetrySample {
  std::int64_t trial_id = 0;
  double t_s = 0;     // seconds since the trial started
  std::string phase;  // "train", "eval", "idle", ...
  std::optional<double> gpu_util_pct;
  std::optional<double> gpu_mem_bytes;
  std::optional<double> power_w;
  std::optional<double> cpu_util_pct;
  std::optional<double> rss_bytes;
};

// Everything in a results database, as the report reads it.
struct ResultsSnapshot {
  std::string database;  // path of the file it was read from
  std::vector<SuiteRecord> suites;
  std::vector<TrialRecord> trials;       // ordered by suite, then id
  std::vector<EpochRecord> epochs;       // ordered by trial, then epoch
  std::vector<TelemetrySample> samples;  // ordered by trial, then t
};

}  // namespace cb::results
