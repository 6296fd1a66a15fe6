// Learning-rate schedules, computed by the harness and set on the backend before every step,
// so that every framework follows the very same curve.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cb::trial {

struct ScheduleConfig {
  enum class Kind { constant, step, cosine, onecycle };
  Kind kind = Kind::onecycle;
  double peak_lr = 0.1;             // the recipe's lr: the constant value, or the peak
  double warmup_fraction = 0.25;    // onecycle: fraction of steps rising to the peak; cosine: linear warm-up
  double start_factor = 0.04;       // onecycle/cosine warm-up start: peak * start_factor (1/25, as PyTorch)
  double final_factor = 1e-4;       // onecycle/cosine end: peak * final_factor
  std::vector<double> milestones;   // step: epochs (fractional allowed) at which lr *= gamma
  double gamma = 0.1;               // step: decay factor
};

std::string to_string(ScheduleConfig::Kind kind);
// Parses "constant", "step", "cosine", "onecycle"; throws InputError naming `what`.
ScheduleConfig::Kind parse_schedule_kind(const std::string& name, const std::string& what);

// The learning rate for step `step` (0-based) of `total_steps`, with `steps_per_epoch` for
// the step schedule's epoch milestones.
double learning_rate_at(const ScheduleConfig& config, std::int64_t step, std::int64_t total_steps,
                        std::int64_t steps_per_epoch);

}  // namespace cb::trial
