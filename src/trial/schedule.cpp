#include "trial/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"

namespace cb::trial {

std::string to_string(ScheduleConfig::Kind kind) {
  switch (kind) {
    case ScheduleConfig::Kind::constant: return "constant";
    case ScheduleConfig::Kind::step: return "step";
    case ScheduleConfig::Kind::cosine: return "cosine";
    case ScheduleConfig::Kind::onecycle: return "onecycle";
  }
  return "?";
}

ScheduleConfig::Kind parse_schedule_kind(const std::string& name, const std::string& what) {
  if (name == "constant") return ScheduleConfig::Kind::constant;
  if (name == "step") return ScheduleConfig::Kind::step;
  if (name == "cosine") return ScheduleConfig::Kind::cosine;
  if (name == "onecycle") return ScheduleConfig::Kind::onecycle;
  throw InputError(what + ": unknown schedule '" + name +
                   "' (expected constant, step, cosine or onecycle)");
}

double learning_rate_at(const ScheduleConfig& c, std::int64_t step, std::int64_t total_steps,
                        std::int64_t steps_per_epoch) {
  total_steps = std::max<std::int64_t>(total_steps, 1);
  step = std::clamp<std::int64_t>(step, 0, total_steps - 1);
  const double start = c.peak_lr * c.start_factor;
  const double end = c.peak_lr * c.final_factor;
  const auto warmup = static_cast<std::int64_t>(std::llround(c.warmup_fraction * total_steps));
  switch (c.kind) {
    case ScheduleConfig::Kind::constant:
      return c.peak_lr;
    case ScheduleConfig::Kind::step: {
      const double epoch = static_cast<double>(step) / std::max<std::int64_t>(steps_per_epoch, 1);
      double lr = c.peak_lr;
      for (double m : c.milestones) {
        if (epoch >= m) lr *= c.gamma;
      }
      return lr;
    }
    case ScheduleConfig::Kind::cosine: {
      if (step < warmup) return start + (c.peak_lr - start) * static_cast<double>(step) / warmup;
      const double span = std::max<std::int64_t>(total_steps - 1 - warmup, 1);
      const double t = static_cast<double>(step - warmup) / span;
      return end + (c.peak_lr - end) * 0.5 * (1.0 + std::cos(std::numbers::pi * t));
    }
    case ScheduleConfig::Kind::onecycle: {
      // Linear rise from start to peak over the warm-up, then linear fall from peak to end.
      if (warmup > 0 && step <= warmup) {
        return start + (c.peak_lr - start) * static_cast<double>(step) / warmup;
      }
      const double span = std::max<std::int64_t>(total_steps - 1 - warmup, 1);
      const double t = static_cast<double>(step - warmup) / span;
      return c.peak_lr + (end - c.peak_lr) * t;
    }
  }
  return c.peak_lr;
}

}  // namespace cb::trial
