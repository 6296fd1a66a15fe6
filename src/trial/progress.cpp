#include "trial/progress.h"

#include <fmt/format.h>

#include <cstdlib>

#include "core/log.h"

namespace cb::trial {
namespace {

std::string duration_text(double s) {
  if (s < 0) s = 0;
  const auto total = static_cast<long>(s + 0.5);
  if (total >= 3600) return fmt::format("{}h{:02}m", total / 3600, total / 60 % 60);
  if (total >= 60) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}s", total);
}

}  // namespace

ProgressPrinter::ProgressPrinter(std::FILE* out, bool terminal, std::optional<double> suite_eta_after_s)
    : out_(out), terminal_(terminal), suite_eta_after_s_(suite_eta_after_s) {}

std::string ProgressPrinter::format_line(int epoch, int epochs, std::int64_t step, std::int64_t steps,
                                         double images_per_s, double loss, double epoch_eta_s,
                                         std::optional<double> suite_eta_s) {
  std::string line = fmt::format("  epoch {}/{}  step {}/{}  {:.0f} img/s  loss {:.4f}  epoch ETA {}",
                                 epoch, epochs, step, steps, images_per_s, loss, duration_text(epoch_eta_s));
  if (suite_eta_s) line += fmt::format("  suite ETA {}", duration_text(*suite_eta_s));
  return line;
}

void ProgressPrinter::on_start(const TrialStart& start) {
  enabled_ = start.leader && !log::quiet() && start.steps_per_epoch > 0;
  epochs_ = start.epochs;
  steps_per_epoch_ = start.steps_per_epoch;
  batch_size_ = start.batch_size;
}

void ProgressPrinter::on_step(const StepRecord& step) {
  if (!enabled_) return;
  const auto now = Clock::now();
  if (step.epoch != epoch_) {  // the first step of an epoch (also after a resume)
    epoch_ = step.epoch;
    first_step_ = step.step - 1;
    epoch_start_ = now;
    last_draw_ = {};
    next_tenth_ = 1;
  }
  const std::int64_t done = step.step - first_step_;
  const bool last = done >= steps_per_epoch_;
  // Most steps print nothing: decide first, so the training step pays only for the clock.
  const bool draw = terminal_ ? !last && now - last_draw_ >= std::chrono::milliseconds(500)
                              : !last && done * 10 >= next_tenth_ * steps_per_epoch_;
  if (terminal_ && last) {
    std::fputs("\r\033[K", out_);  // the epoch line comes next, on a clean line
    std::fflush(out_);
  }
  if (!draw) return;
  const double elapsed = std::chrono::duration<double>(now - epoch_start_).count();
  const double per_step = elapsed / static_cast<double>(done);
  const double epoch_eta = per_step * static_cast<double>(steps_per_epoch_ - done);
  std::optional<double> suite_eta;
  if (suite_eta_after_s_) {
    const double epoch_s = last_epoch_s_ > 0 ? last_epoch_s_ : per_step * static_cast<double>(steps_per_epoch_);
    suite_eta = epoch_eta + epoch_s * (epochs_ - epoch_) + *suite_eta_after_s_;
  }
  const std::string line = format_line(epoch_, epochs_, done, steps_per_epoch_,
                                       elapsed > 0 ? batch_size_ * static_cast<double>(done) / elapsed : 0,
                                       step.loss, epoch_eta, suite_eta);
  if (terminal_) {
    std::fprintf(out_, "\r\033[K%s", line.c_str());
    last_draw_ = now;
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
    while (done * 10 >= next_tenth_ * steps_per_epoch_) ++next_tenth_;
  }
  std::fflush(out_);
}

void ProgressPrinter::on_epoch(const TrialOutcome&, const EpochStats& epoch) {
  last_epoch_s_ = epoch.epoch_time_s + epoch.eval_time_s;
}

std::optional<double> suite_eta_from_environment() {
  const char* v = std::getenv("CIFARBENCH_SUITE_ETA_S");
  if (!v || !*v) return std::nullopt;
  char* end = nullptr;
  const double s = std::strtod(v, &end);
  if (end == v || s < 0) return std::nullopt;
  return s;
}

}  // namespace cb::trial
