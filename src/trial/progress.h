// Progress within an epoch (docs/suites.md "Progress"): on a terminal, one line redrawn in place
// at most twice a second (epoch, step / steps, images/s, loss, epoch ETA and, in a suite, the
// suite's ETA); elsewhere (CI, a log file) a plain line at every 10 % of the epoch. Cleared on
// the epoch's last step, so the epoch line that follows starts on a clean line. Silent with
// --quiet and on ranks other than the leader.
#pragma once

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "trial/trial.h"

namespace cb::trial {

class ProgressPrinter final : public TrialObserver {
 public:
  // `terminal`: redraw in place (normally isatty(stdout)); `suite_eta_after_s`: the suite's
  // estimate of the time its remaining trials take after this one (absent outside a suite).
  ProgressPrinter(std::FILE* out, bool terminal, std::optional<double> suite_eta_after_s);

  void on_start(const TrialStart& start) override;
  void on_step(const StepRecord& step) override;
  void on_epoch(const TrialOutcome& so_far, const EpochStats& epoch) override;

  // The progress text for a step (pure; tested).
  static std::string format_line(int epoch, int epochs, std::int64_t step, std::int64_t steps,
                                 double images_per_s, double loss, double epoch_eta_s,
                                 std::optional<double> suite_eta_s);

 private:
  using Clock = std::chrono::steady_clock;
  std::FILE* out_;
  bool terminal_;
  bool enabled_ = false;
  std::optional<double> suite_eta_after_s_;
  int epochs_ = 0;
  std::int64_t steps_per_epoch_ = 0;
  int batch_size_ = 0;
  int epoch_ = 0;
  std::int64_t first_step_ = 0;   // the trial step the epoch started at
  Clock::time_point epoch_start_;
  Clock::time_point last_draw_;
  double last_epoch_s_ = 0;       // the previous epoch's duration, for the trial's ETA
  int next_tenth_ = 1;            // plain output: the next 10 % mark
};

// The suite's ETA for the trials after this one, from $CIFARBENCH_SUITE_ETA_S (set by the runner).
std::optional<double> suite_eta_from_environment();

}  // namespace cb::trial
