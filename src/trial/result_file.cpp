// The trial's results as JSON (result.json, checkpoints), the progress line, and the observers
// that write them: result.json after every epoch, the step log, and a fan-out list.
#include <fmt/format.h>

#include <cmath>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_value.h"
#include "results/mfu.h"
#include "trial/trial.h"

namespace cb::trial {
namespace {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto total = static_cast<long long>(std::llround(s));
  if (total >= 3600) return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
  if (total >= 60) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}s", total);
}

}  // namespace

nlohmann::json trial_config_json(const TrialSpec& spec) {
  return {{"framework", spec.framework},
          {"model", spec.model},
          {"seed", spec.seed},
          {"recipe", to_json(spec.recipe)},
          {"data", {{"dataset", spec.data.dataset}, {"path", spec.data.path}}},
          {"telemetry", {{"enabled", spec.telemetry.enabled}, {"rate_hz", spec.telemetry.rate_hz}}},
          {"rank", spec.shard.rank},
          {"world_size", spec.shard.world_size},
          {"time_limit_s", spec.time_limit_s > 0 ? nlohmann::json(spec.time_limit_s) : nlohmann::json(nullptr)},
          {"read_every", read_every_for(spec.read_every, spec.recipe.execution.device)}};
}

nlohmann::json to_json(const EpochStats& e) {
  return {{"epoch", e.epoch},
          {"train_loss", e.train_loss},
          {"train_accuracy", e.train_accuracy},
          {"test_accuracy", or_null(e.test_accuracy)},
          {"test_loss", or_null(e.test_loss)},
          {"learning_rate", e.learning_rate},
          {"epoch_time_s", e.epoch_time_s},
          {"training_time_s", e.training_time_s},
          {"eval_time_s", e.eval_time_s},
          {"wall_time_s", e.wall_time_s},
          {"images_per_s", e.images_per_s}};
}

nlohmann::json to_json(const TrialOutcome& o) {
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& e : o.epochs) epochs.push_back(to_json(e));
  return {{"status", std::string(results::to_string(o.state))},
          {"error", o.error},
          {"diverged_step", or_null(o.diverged_step)},
          {"dataset", o.dataset},
          {"synthetic_data", o.synthetic},
          {"layout", o.layout},
          {"parameters", o.parameters},
          {"mflops_per_image", o.mflops_per_image},
          {"test_accuracy", or_null(o.test_accuracy)},
          {"time_to_target_s", or_null(o.time_to_target_s)},
          {"training_time_s", o.training_time_s},
          {"wall_time_s", o.wall_time_s},
          {"images_per_s", o.images_per_s},
          {"images_per_s_including_warmup", o.images_per_s_with_warmup},
          {"steps", o.steps},
          {"training_images", o.training_images},
          {"world_size", o.world_size},
          {"images_per_s_by_rank", o.images_per_s_by_rank},
          {"communication_s_per_step", o.communication_s_per_step},
          {"epochs", epochs},
          {"telemetry", o.telemetry}};
}

std::string format_epoch_line(const EpochStats& e, int total_epochs, double eta_s) {
  std::string test = e.test_accuracy ? fmt::format("test {:5.2f}%", 100.0 * *e.test_accuracy)
                                     : std::string("test   -   ");
  return fmt::format("epoch {:>3}/{:<3} loss {:.4f}  train {:5.2f}%  {}  lr {:.4g}  {:7.1f} img/s  "
                     "epoch {}  ETA {}",
                     e.epoch, total_epochs, e.train_loss, 100.0 * e.train_accuracy, test,
                     e.learning_rate, e.images_per_s, format_duration(e.epoch_time_s),
                     format_duration(eta_s));
}

ResultFileWriter::ResultFileWriter(std::filesystem::path path, nlohmann::json environment)
    : path_(std::move(path)) {
  doc_["environment"] = std::move(environment);
}

void ResultFileWriter::on_start(const TrialStart& start) {
  doc_["config"] = start.config;
  doc_["result"] = {{"status", "running"}};
  write();
}

void ResultFileWriter::on_epoch(const TrialOutcome& so_far, const EpochStats&) {
  doc_["result"] = to_json(so_far);
  doc_["result"]["model_flop_utilization"] =
      results::model_flop_utilization(doc_["config"], doc_["environment"], so_far.images_per_s);
  write();
}

void ResultFileWriter::on_finish(const TrialOutcome& outcome, const telemetry::SampleLog&) {
  doc_["result"] = to_json(outcome);
  doc_["result"]["model_flop_utilization"] =
      results::model_flop_utilization(doc_["config"], doc_["environment"], outcome.images_per_s);
  write();
}

void ResultFileWriter::write() { write_file_atomically(path_, doc_.dump(2) + "\n"); }

void ObserverList::on_start(const TrialStart& s) {
  for (auto* o : observers_) o->on_start(s);
}
void ObserverList::on_step(const StepRecord& s) {
  for (auto* o : observers_) o->on_step(s);
}
void ObserverList::on_epoch(const TrialOutcome& s, const EpochStats& e) {
  for (auto* o : observers_) o->on_epoch(s, e);
}
void ObserverList::on_finish(const TrialOutcome& out, const telemetry::SampleLog& log) {
  for (auto* o : observers_) o->on_finish(out, log);
}

StepLogWriter::StepLogWriter(const std::filesystem::path& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "w");
  if (!file_) throw InputError(fmt::format("--step-log {}: cannot write this file", path.string()));
  fmt::print(file_, "step,epoch,learning_rate,loss,accuracy\n");
}

StepLogWriter::~StepLogWriter() {
  if (file_) std::fclose(file_);
}

void StepLogWriter::on_step(const StepRecord& s) {
  // %.9g: a float32 loss round-trips, so two logs compare exactly.
  fmt::print(file_, "{},{},{:.9g},{:.9g},{:.9g}\n", s.step, s.epoch, s.learning_rate, s.loss, s.accuracy);
}

void StepLogWriter::on_finish(const TrialOutcome&, const telemetry::SampleLog&) { std::fflush(file_); }

void TelemetryLogWriter::on_finish(const TrialOutcome&, const telemetry::SampleLog& log) {
  write_file_atomically(path_, telemetry::to_json(log).dump() + "\n");
}

}  // namespace cb::trial
