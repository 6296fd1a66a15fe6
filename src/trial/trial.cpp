// The trial loop, in stages: prepare, resume or start, then per epoch train, evaluate, report
// and checkpoint, and finish. One process and a data-parallel world run the same code: the
// differences live in World (trial/world.h).
#include "trial/trial.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <utility>

#include "backends/backend.h"
#include "core/error.h"
#include "core/log.h"
#include "data/batcher.h"
#include "data/prefetch.h"
#include "data/transforms.h"
#include "model/analysis.h"
#include "model/initial_weights.h"
#include "model/custom_model.h"
#include "model/zoo.h"
#include "telemetry/summary.h"
#include "trial/checkpoint.h"
#include "trial/config_diff.h"
#include "trial/world.h"

namespace cb::trial {
namespace {

class SteadyClock final : public TrialClock {
 public:
  double now_s() const override {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
};

const backends::Backend& require_backend(const TrialSpec& spec) {
  const backends::Backend* backend = backends::find_backend(spec.framework);
  if (!backend) {
    throw InputError(fmt::format("--framework: unknown framework '{}' (valid: {})", spec.framework,
                                 backends::backend_names()));
  }
  const backends::BackendInfo info = backend->info();
  if (!info.available) {
    throw Unsupported(fmt::format("--framework {}: not available on this machine: {}", spec.framework,
                                  info.unavailable_reason));
  }
  const int world = spec.shard.world_size;
  if (world > 1 && !backend->supports_distributed()) {
    throw Unsupported(fmt::format("--nproc/WORLD_SIZE {}: the {} backend trains in one process "
                                  "only; data-parallel training needs --framework torch",
                                  world, spec.framework));
  }
  if (auto why = backend->unsupported(spec.recipe.execution)) {
    throw Unsupported(fmt::format("--framework {}: {}", spec.framework, *why));
  }
  return *backend;
}

model::ModelSpec require_model(const TrialSpec& spec, const data::Dataset& dataset,
                               const backends::Backend& backend) {
  model::ModelSpec model_spec = model::resolve_model(spec.model, dataset.num_classes());
  if (model_spec.input.c != dataset.channels || model_spec.input.h != dataset.height ||
      model_spec.input.w != dataset.width) {
    throw InputError(fmt::format(
        "--model {}: expects {}x{}x{} inputs but dataset {} has {}x{}x{} images", spec.model,
        model_spec.input.c, model_spec.input.h, model_spec.input.w, dataset.name,
        dataset.channels, dataset.height, dataset.width));
  }
  if (auto why = backend.cannot_build(model_spec)) {
    throw Unsupported(fmt::format("--framework {} cannot build model '{}': {}", spec.framework,
                                  spec.model, *why));
  }
  return model_spec;
}

std::shared_ptr<const backends::DistributedConfig> distributed_config(const TrialSpec& spec) {
  if (spec.shard.world_size <= 1) return nullptr;
  auto dc = std::make_shared<backends::DistributedConfig>();
  dc->rank = spec.shard.rank;
  dc->world_size = spec.shard.world_size;
  dc->master_addr = spec.master_addr;
  dc->master_port = spec.master_port;
  dc->timeout_s = spec.distributed_timeout_s;
  return dc;
}

// What one epoch's training steps added up to on this rank.
struct EpochTally {
  double loss_sum = 0;
  double correct = 0;
  std::int64_t images = 0;
  std::int64_t steps = 0;
};

class TrialRun {
 public:
  TrialRun(const TrialSpec& spec, TrialObserver& observer, const TrialClock& clock)
      : spec_(spec), recipe_(spec.recipe), observer_(observer), clock_(clock),
        wall_start_(clock.now_s()) {}

  TrialOutcome run() {
    prepare();
    const int first_epoch = resume_or_start();
    monitor_ = std::make_unique<telemetry::Monitor>(spec_.telemetry);
    monitor_->start();
    try {  // a collective that fails (a rank died) ends a world's trial as failed, results kept
      for (int epoch = first_epoch; epoch <= recipe_.epochs && running(); ++epoch) {
        if (!run_epoch(epoch)) break;
      }
    } catch (const std::exception& e) {  // LibTorch's own errors too (from inside backward)
      if (!world_->failures_end_trial()) throw;
      out_.state = results::TrialStatus::failed;
      out_.error = e.what();
    }
    return finish();
  }

 private:
  bool running() const { return out_.state == results::TrialStatus::running; }
  double seconds_since(double t) const { return clock_.now_s() - t; }

  // Stage 1: everything that can be refused is refused before any training starts; then the
  // model, its initial weights, the trainer and the harness's pipeline in the trainer's layout.
  void prepare() {
    read_every_ = read_every_for(spec_.read_every, recipe_.execution.device);
    const backends::Backend& backend = require_backend(spec_);
    dataset_ = data::resolve_dataset(spec_.data);
    test_images_total_ = dataset_.test.count;
    if (recipe_.eval_images > 0) dataset_.test = data::evenly_spaced(dataset_.test, dataset_.image_bytes(), recipe_.eval_images);
    model_ = require_model(spec_, dataset_, backend);
    initial_ = model::initial_weights(model_, spec_.seed);

    backends::TrainerConfig tc;
    tc.model = std::make_shared<const model::AnalysedModel>(model::analyse(model_));  // analysed once, here
    tc.initial_weights = &initial_;
    tc.optimizer = recipe_.optimizer;
    tc.execution = recipe_.execution;
    tc.seed = spec_.seed;
    tc.distributed = distributed_config(spec_);
    trainer_ = backend.create_trainer(tc);
    world_ = make_world(spec_.shard, *trainer_);

    out_.dataset = dataset_.name;
    out_.synthetic = dataset_.synthetic;
    out_.parameters = tc.model->parameters;
    out_.mflops_per_image = static_cast<double>(tc.model->flops) / 1e6;
    out_.world_size = world_->size();
    if (trainer_->parameter_count() != out_.parameters) {
      throw CheckFailed(fmt::format("{} reports {} parameters for {} but the spec has {}",
                                    spec_.framework, trainer_->parameter_count(), spec_.model,
                                    out_.parameters));
    }
    prepare_pipeline();
    world_->check_ranks_agree(*trainer_, steps_per_epoch_);
    observer_.on_start({spec_, dataset_.name, dataset_.synthetic, start_config(backend), recipe_.epochs,
                        steps_per_epoch_, pipeline_.batch_size, world_->leader()});
  }

  void prepare_pipeline() {
    pipeline_ = recipe_.pipeline;
    pipeline_.layout = trainer_->input_layout();
    out_.layout = std::string(data::to_string(pipeline_.layout));
    normalization_ = data::resolve_normalization(pipeline_.normalize, dataset_);
    train_batcher_ = std::make_unique<data::Batcher>(dataset_, dataset_.train, pipeline_,
                                                     normalization_, spec_.seed, true);
    eval_batcher_ = std::make_unique<data::Batcher>(dataset_, dataset_.test, pipeline_,
                                                    normalization_, spec_.seed, false);
    sampler_ = std::make_unique<data::Sampler>(dataset_.train.count, spec_.seed, true, spec_.shard,
                                               pipeline_.shard_rule);
    steps_per_epoch_ =
        data::batch_count(sampler_->samples_per_epoch(), pipeline_.batch_size, pipeline_.drop_last);
    if (recipe_.max_steps_per_epoch > 0) {
      steps_per_epoch_ = std::min<std::int64_t>(steps_per_epoch_, recipe_.max_steps_per_epoch);
    }
    if (steps_per_epoch_ == 0) {
      throw InputError(fmt::format("batch size {} is larger than the {} training samples of this "
                                   "rank (lower data.batch_size or set data.drop_last = false)",
                                   pipeline_.batch_size, sampler_->samples_per_epoch()));
    }
    total_steps_ = steps_per_epoch_ * recipe_.epochs;
  }

  nlohmann::json start_config(const backends::Backend& backend) const {
    nlohmann::json config = trial_config_json(spec_);
    config["dataset"] = {{"name", dataset_.name}, {"source", dataset_.source},
                         {"synthetic", dataset_.synthetic}, {"train", dataset_.train.count},
                         {"test", dataset_.test.count}, {"test_split", test_images_total_},
                         {"classes", dataset_.classes}};
    config["model_info"] = {{"parameters", out_.parameters}, {"mflops_per_image", out_.mflops_per_image}};
    config["backend"] = {{"name", backend.info().name}, {"version", backend.info().version}};
    return config;
  }

  // Stage 2: the first epoch to train; a resumed trial restores weights, optimizer state and
  // the epochs already done from its checkpoint.
  int resume_or_start() {
    const CheckpointPaths ckpt(spec_.out_dir);
    if (!spec_.resume || spec_.out_dir.empty() || !has_checkpoint(ckpt)) return 1;
    const CheckpointState state = read_checkpoint_state(ckpt);
    // Epochs trained under one configuration are never continued (and reported) under another.
    const std::vector<std::string> diffs =
        state.config
            ? config_differences(*state.config, checkpoint_config(spec_))
            : std::vector<std::string>{"the checkpoint records no configuration (an older cifarbench wrote it)"};
    if (!diffs.empty()) {
      if (!spec_.restart_changed) {
        throw InputError(fmt::format(
            "--resume: {} was written by another configuration than the one asked for "
            "(checkpoint → asked): {}. Use the same options, another --out, or "
            "--restart-changed to start afresh",
            ckpt.state.string(), fmt::join(diffs, "; ")));
      }
      spdlog::warn("--restart-changed: {} differs ({}); starting afresh", ckpt.state.string(),
                   fmt::join(diffs, "; "));
      std::error_code ec;
      std::filesystem::remove_all(ckpt.dir, ec);  // never resumed into by mistake later
      return 1;
    }
    const int stored = state.epoch;
    if (stored > recipe_.epochs) {
      throw InputError(fmt::format(
          "--resume: {}: field 'epoch' is {}, past the trial's {} epoch(s) (--epochs or the "
          "recipe's train.epochs); nothing would be trained",
          ckpt.state.string(), stored, recipe_.epochs));
    }
    const int done = load_checkpoint(ckpt, state, *trainer_, out_);
    spdlog::info("resuming from {} after epoch {}", ckpt.dir.string(), done);
    return done + 1;
  }

  // Stages 3-5 for one epoch; false when the trial stopped with nothing of this epoch to report.
  bool run_epoch(int epoch) {
    EpochStats es;
    es.epoch = epoch;
    const EpochTally tally = train_epoch(epoch, es);
    if (!running() && tally.steps == 0) return false;
    if (running() && (epoch % recipe_.eval_every == 0 || epoch == recipe_.epochs)) evaluate(es);
    es.wall_time_s = seconds_since(wall_start_);
    out_.wall_time_s = es.wall_time_s;
    out_.epochs.push_back(es);
    report_epoch(es);
    return true;
  }

  // Stage 3: one epoch of training steps, timed (the device synchronized at both ends).
  EpochTally train_epoch(int epoch, EpochStats& es) {
    monitor_->set_phase(telemetry::Phase::train);
    trainer_->sync();
    const double epoch_start = clock_.now_s();
    EpochTally tally;
    {
      data::BatchStream stream = data::training_batches(*train_batcher_, *sampler_, epoch - 1, pipeline_);
      std::int64_t queued = 0;
      while (queued < steps_per_epoch_ && stream.next(batch_)) {
        ++queued;
        if (!train_step(epoch, epoch_start, es, tally, queued == steps_per_epoch_)) break;
      }
    }
    if (running() && !unread_.empty()) read_steps(epoch, epoch_start, tally);  // a short stream
    trainer_->sync();
    es.epoch_time_s = seconds_since(epoch_start);
    std::vector<double> sums{tally.loss_sum, tally.correct, static_cast<double>(tally.images),
                             static_cast<double>(tally.steps)};
    world_->sum(sums);  // the world's loss, accuracy and images (outside the timed epoch)
    const std::int64_t images = static_cast<std::int64_t>(sums[2]);
    const double loss_sum = sums[0] / world_->size();  // every rank takes the same number of steps
    out_.training_time_s += es.epoch_time_s;
    out_.training_images += images;
    es.training_time_s = out_.training_time_s;
    es.train_loss = tally.steps ? loss_sum / tally.steps : 0.0;
    es.train_accuracy = images ? sums[1] / images : 0.0;
    es.images_per_s = es.epoch_time_s > 0 ? images / es.epoch_time_s : 0.0;
    return tally;
  }

  // One step, queued on the trainer, and a read of the queued steps' values every read_every_
  // steps, at the epoch's last step and at the warm-up's last; false when the trial stops.
  bool train_step(int epoch, double epoch_start, EpochStats& es, EpochTally& tally, bool last_of_epoch) {
    if (world_->interrupted_before_step()) {  // one process: the steps queued are read first
      return (unread_.empty() || read_steps(epoch, epoch_start, tally)) &&
             stop(results::TrialStatus::interrupted, epoch);
    }
    const double lr = learning_rate_at(recipe_.schedule, out_.steps, total_steps_, steps_per_epoch_);
    trainer_->set_learning_rate(lr);
    es.learning_rate = lr;
    trainer_->train_step(batch_);
    ++out_.steps;
    ++steps_this_run_;
    unread_.push_back({out_.steps, epoch, lr, batch_.n});
    const bool warm_end = steps_this_run_ == recipe_.warmup_steps;
    if (static_cast<int>(unread_.size()) < read_every_ && !last_of_epoch && !warm_end) return true;
    return read_steps(epoch, epoch_start, tally);
  }

  // Reads the queued steps' values (the one host synchronisation), reports and tallies them,
  // and acts on what the world agrees: divergence at the first non-finite step (the steps queued
  // after it are dropped from every count), Ctrl-C, the time limit. False when the trial stops.
  bool read_steps(int epoch, double epoch_start, EpochTally& tally) {
    const std::vector<backends::StepResult> read = trainer_->read_steps();
    if (read.size() != unread_.size()) {
      throw CheckFailed(fmt::format("{} trainer: read_steps returned {} step(s), {} were trained since the last read",
                                    spec_.framework, read.size(), unread_.size()));
    }
    std::vector<bool> non_finite(read.size());
    for (std::size_t i = 0; i < read.size(); ++i) non_finite[i] = !std::isfinite(read[i].loss);
    const bool out_of_time = spec_.time_limit_s > 0 && seconds_since(wall_start_) > spec_.time_limit_s;
    const World::ReadVerdict verdict = world_->agree_at_read(non_finite, out_of_time);
    const std::size_t kept = verdict.diverged_at.value_or(read.size());
    for (std::size_t i = 0; i < read.size() && i <= kept; ++i) {
      const UnreadStep& s = unread_[i];
      observer_.on_step({s.step, s.epoch, s.learning_rate, read[i].loss, read[i].accuracy});
      if (i == kept) break;  // the diverged step is reported, never tallied
      tally.loss_sum += read[i].loss;
      tally.correct += read[i].accuracy * s.images;
      tally.images += s.images;
      ++tally.steps;
    }
    const std::vector<UnreadStep> steps = std::exchange(unread_, {});
    if (verdict.diverged_at) {
      const UnreadStep& s = steps[kept];
      const auto dropped = static_cast<std::int64_t>(steps.size() - kept - 1);
      out_.steps -= dropped;
      steps_this_run_ -= dropped;
      out_.state = results::TrialStatus::diverged;
      out_.diverged_step = s.step;
      out_.error = fmt::format("loss became {} at step {} (epoch {})", read[kept].loss, s.step, s.epoch);
      return false;
    }
    if (verdict.interrupted) return stop(results::TrialStatus::interrupted, epoch);
    if (steps_this_run_ == recipe_.warmup_steps) {  // the warm-up ends: throughput counts from here
      trainer_->sync();
      warm_time_s_ = out_.training_time_s + seconds_since(epoch_start);
      warm_images_ = out_.training_images + tally.images * world_->size();  // equal batches
    }
    if (verdict.out_of_time) return stop(results::TrialStatus::timeout, epoch);
    return true;
  }

  bool stop(results::TrialStatus status, int epoch) {
    out_.state = status;
    out_.error = status == results::TrialStatus::timeout
                     ? fmt::format("exceeded the time limit of {} s during epoch {}", spec_.time_limit_s, epoch)
                     : fmt::format("interrupted during epoch {}", epoch);
    return false;
  }

  // Stage 4: the whole test split in inference mode (this rank's share in a world).
  void evaluate(EpochStats& es) {
    monitor_->set_phase(telemetry::Phase::eval);
    const double eval_start = clock_.now_s();
    world_->share_buffers_from_leader(*trainer_);
    data::BatchStream stream = data::evaluation_batches(*eval_batcher_, pipeline_, spec_.shard);
    std::vector<double> sums{0, 0, 0};  // correct, count, loss
    while (stream.next(batch_)) {
      const backends::EvalResult r = trainer_->evaluate(batch_);
      sums[0] += static_cast<double>(r.correct);
      sums[1] += static_cast<double>(r.count);
      sums[2] += r.loss_sum;
    }
    trainer_->sync();
    world_->sum(sums);  // each rank evaluated its exact share; every rank reports the whole
    es.eval_time_s = seconds_since(eval_start);
    if (sums[1] > 0) {
      es.test_accuracy = sums[0] / sums[1];
      es.test_loss = sums[2] / sums[1];
      out_.test_accuracy = es.test_accuracy;
      if (recipe_.target_accuracy && !out_.time_to_target_s && *es.test_accuracy >= *recipe_.target_accuracy) {
        out_.time_to_target_s = out_.training_time_s;
      }
    }
    monitor_->set_phase(telemetry::Phase::train);
  }

  // Stage 5: the progress line, the observers, then the checkpoint. Results first: a crash
  // between the two redoes this epoch on resume, which replaces (never duplicates) its row.
  void report_epoch(const EpochStats& es) {
    if (world_->leader() && !log::quiet()) {
      const double per_epoch = es.epoch_time_s + es.eval_time_s;
      fmt::print("{}\n", format_epoch_line(es, recipe_.epochs, per_epoch * (recipe_.epochs - es.epoch)));
      std::fflush(stdout);
    }
    observer_.on_epoch(out_, es);
    const bool can_checkpoint = !spec_.out_dir.empty() && (spec_.checkpoint || spec_.resume);
    if (world_->leader() && can_checkpoint && running()) {
      save_checkpoint(CheckpointPaths(spec_.out_dir), *trainer_, out_, es.epoch, checkpoint_config(spec_));
    }
  }

  // Stage 6: throughput with and without the warm-up, the world's figures, telemetry.
  TrialOutcome finish() {
    monitor_->set_phase(telemetry::Phase::idle);
    monitor_->stop();
    if (running()) out_.state = results::TrialStatus::completed;
    out_.wall_time_s = seconds_since(wall_start_);
    out_.images_per_s_with_warmup = out_.training_time_s > 0 ? out_.training_images / out_.training_time_s : 0;
    const double after_warm_time = out_.training_time_s - warm_time_s_;
    const std::int64_t after_warm_images = out_.training_images - warm_images_;
    out_.images_per_s = (warm_images_ > 0 && after_warm_time > 0 && after_warm_images > 0)
                            ? after_warm_images / after_warm_time
                            : out_.images_per_s_with_warmup;
    if (steps_this_run_ > 0) out_.communication_s_per_step = trainer_->communication_time_s() / steps_this_run_;
    if (world_->size() > 1 && out_.state != results::TrialStatus::failed) gather_rank_throughput();
    const telemetry::SampleLog log = monitor_->log();
    const telemetry::TelemetrySummary summary =
        telemetry::summarize(log, static_cast<std::uint64_t>(out_.training_images));
    out_.telemetry = telemetry::to_json(summary);
    observer_.on_finish(out_, log);
    if (world_->leader() && !log::quiet()) fmt::print("{}", telemetry::format_summary(summary));
    return std::move(out_);
  }

  // images_per_s so far counts the world's images over this rank's time; each rank's own, summed.
  void gather_rank_throughput() {
    std::vector<double> by_rank(static_cast<std::size_t>(world_->size()), 0.0);
    by_rank[static_cast<std::size_t>(world_->rank())] = out_.images_per_s / world_->size();
    try {
      world_->sum(by_rank);
      out_.images_per_s_by_rank = by_rank;
      out_.images_per_s = 0;
      for (double v : by_rank) out_.images_per_s += v;
    } catch (const Error& e) {
      out_.state = results::TrialStatus::failed;
      out_.error = e.what();
    }
  }

  const TrialSpec& spec_;
  const Recipe& recipe_;
  TrialObserver& observer_;
  const TrialClock& clock_;
  const double wall_start_;

  data::Dataset dataset_;
  std::int64_t test_images_total_ = 0;  // before train.eval_images kept a part of it
  model::ModelSpec model_;
  model::Weights initial_;
  std::unique_ptr<backends::Trainer> trainer_;
  std::unique_ptr<World> world_;
  data::PipelineConfig pipeline_;
  data::Normalization normalization_;
  std::unique_ptr<data::Batcher> train_batcher_, eval_batcher_;
  std::unique_ptr<data::Sampler> sampler_;
  std::int64_t steps_per_epoch_ = 0, total_steps_ = 0;
  std::unique_ptr<telemetry::Monitor> monitor_;

  TrialOutcome out_;
  double warm_time_s_ = 0;  // training time spent in the warm-up steps
  std::int64_t warm_images_ = 0;
  std::int64_t steps_this_run_ = 0;
  data::Batch batch_;
  // The steps trained since the trainer's values were last read (read_steps).
  struct UnreadStep {
    std::int64_t step = 0;
    int epoch = 0;
    double learning_rate = 0;
    int images = 0;
  };
  std::vector<UnreadStep> unread_;
  int read_every_ = 1;
};

}  // namespace

int read_every_for(int read_every, const std::string& device) {
  if (read_every < 0) {
    throw InputError(fmt::format("--read-every {}: expected 0 (the device's default) or a number of steps ≥ 1", read_every));
  }
  if (read_every > 0) return read_every;
  return device == "cpu" ? 1 : kDeviceReadEvery;
}

const TrialClock& steady_trial_clock() {
  static const SteadyClock clock;
  return clock;
}

std::atomic<bool>& interrupt_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}

TrialOutcome run_trial(const TrialSpec& spec, TrialObserver& observer, const TrialClock& clock) {
  return TrialRun(spec, observer, clock).run();
}

}  // namespace cb::trial
