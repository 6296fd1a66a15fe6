// One trial: one framework training one model with one recipe and one seed, measured.
// The harness owns data order, augmentation, initial weights and the learning-rate schedule;
// the backend only does the math. Results are handed to observers after every epoch so that
// nothing measured is lost.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "trial/recipe.h"
#include "data/resolve.h"
#include "data/sampler.h"
#include "results/records.h"
#include "telemetry/monitor.h"

namespace cb::trial {

struct TrialSpec {
  std::string framework = "torch";
  std::string model = "resnet20";  // a zoo name or a custom model file
  Recipe recipe;
  std::uint64_t seed = 0;
  data::DataRequest data;
  telemetry::MonitorOptions telemetry;
  std::filesystem::path out_dir;  // result.json and checkpoints; empty: none written
  bool checkpoint = false;        // save weights and optimizer state after every epoch
  bool resume = false;            // continue from out_dir's checkpoint
  // With resume: a checkpoint written by another configuration (checkpoint_config) is set
  // aside and the trial starts afresh, instead of being refused.
  bool restart_changed = false;
  data::Shard shard;              // this process's rank in a data-parallel run
  // A data-parallel run (shard.world_size > 1): rank 0's rendezvous address, and the time after
  // which a missing or dead rank makes the others fail (docs/distributed.md).
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  int distributed_timeout_s = 60;
  // > 0: the trial stops after the step during which its wall time passes this many seconds,
  // as `timeout`, keeping the epochs it finished (a suite's per-trial limit).
  double time_limit_s = 0;
  // Read the steps' loss and accuracy back from the trainer (Trainer::read_steps, a host
  // synchronisation on a GPU) every this many steps, and always at an epoch's end and at the
  // warm-up's end. Divergence, the time limit and a data-parallel world's Ctrl-C are acted on at
  // these reads. 0: read_every_for(device): every step on the CPU, kDeviceReadEvery elsewhere.
  int read_every = 0;
};

// The steps between reads when TrialSpec::read_every is 0 and the device is not the CPU: a GPU
// then queues this many steps ahead instead of waiting for each one's loss.
inline constexpr int kDeviceReadEvery = 10;
// TrialSpec::read_every as a trial uses it: `read_every` when > 0, else 1 on "cpu" (a CPU
// backend has no queue: reading each step costs nothing and keeps every check per step) and
// kDeviceReadEvery on any other device.
int read_every_for(int read_every, const std::string& device);

struct EpochStats {
  int epoch = 0;                      // 1-based
  double train_loss = 0;              // mean over the epoch's steps
  double train_accuracy = 0;          // fraction of the epoch's training images
  std::optional<double> test_accuracy;
  std::optional<double> test_loss;
  double learning_rate = 0;           // at the epoch's last step
  double epoch_time_s = 0;            // training time of this epoch (evaluation excluded)
  double training_time_s = 0;         // cumulative
  double eval_time_s = 0;
  double wall_time_s = 0;             // since the trial started
  double images_per_s = 0;            // this epoch's training images / epoch_time_s
};

struct TrialOutcome {
  results::TrialStatus state = results::TrialStatus::running;  // the one status enum
  std::string error;                    // diverged/failed: what happened
  std::optional<std::int64_t> diverged_step;
  std::vector<EpochStats> epochs;
  std::optional<double> test_accuracy;  // at the last evaluation
  std::optional<double> time_to_target_s;
  double training_time_s = 0;
  double wall_time_s = 0;
  double images_per_s = 0;              // after the warm-up steps
  double images_per_s_with_warmup = 0;  // every training step
  // Data-parallel runs: images_per_s above counts every rank's images (the world's throughput);
  // these are each rank's own, and the mean time a step waited for communication on this rank.
  int world_size = 1;
  std::vector<double> images_per_s_by_rank;
  double communication_s_per_step = 0;
  std::int64_t steps = 0;
  std::int64_t training_images = 0;
  std::int64_t parameters = 0;
  double mflops_per_image = 0;
  std::string dataset;
  bool synthetic = false;
  std::string layout;
  nlohmann::json telemetry = nlohmann::json::object();  // summary
};

// One training step as the harness saw it (the step log, tests).
struct StepRecord {
  std::int64_t step = 0;  // 1-based, over the whole trial
  int epoch = 0;
  double learning_rate = 0;
  double loss = 0;
  double accuracy = 0;    // of the batch, before the update
};

// What a trial is, once prepared: its spec, the dataset it resolved to, and the whole
// configuration as recorded with its results.
struct TrialStart {
  const TrialSpec& spec;
  std::string dataset;  // the resolved dataset's name
  bool synthetic = false;
  nlohmann::json config;
  int epochs = 0;
  std::int64_t steps_per_epoch = 0;
  int batch_size = 0;
  bool leader = true;  // rank 0 (or the only process): the one that prints
};

// Receives results as they are produced (the JSON file writer, the results database).
class TrialObserver {
 public:
  virtual ~TrialObserver() = default;
  virtual void on_start(const TrialStart& /*start*/) {}
  // Every training step (on this process's rank), in order, at each read of the steps' values
  // (TrialSpec::read_every: every step on the CPU, in batches on a GPU); keep it cheap.
  virtual void on_step(const StepRecord& /*step*/) {}
  virtual void on_epoch(const TrialOutcome& /*so_far*/, const EpochStats& /*epoch*/) {}
  virtual void on_finish(const TrialOutcome& /*outcome*/, const telemetry::SampleLog& /*log*/) {}
};

// Set from a SIGINT handler: the trial stops after the current step as `interrupted`.
std::atomic<bool>& interrupt_flag();

// The trial's clock: seconds since an arbitrary start. Tests drive the loop with a fake one.
class TrialClock {
 public:
  virtual ~TrialClock() = default;
  virtual double now_s() const = 0;
};
// std::chrono::steady_clock.
const TrialClock& steady_trial_clock();

// Runs the trial in stages: prepare (everything that can be refused is refused before any
// training), resume or start, then per epoch train, evaluate, report and checkpoint, and finish.
// Bad input (unknown framework/model, missing data) throws InputError before any training;
// divergence, interruption and the time limit are reported in the outcome.
TrialOutcome run_trial(const TrialSpec& spec, TrialObserver& observer,
                       const TrialClock& clock = steady_trial_clock());

// The trial's configuration as recorded with its results.
nlohmann::json trial_config_json(const TrialSpec& spec);
nlohmann::json to_json(const TrialOutcome& outcome);
nlohmann::json to_json(const EpochStats& epoch);
// The one-line progress report printed after each epoch.
std::string format_epoch_line(const EpochStats& e, int total_epochs, double eta_s);

// Writes out_dir/result.json (config, environment, outcome) atomically after every epoch.
class ResultFileWriter : public TrialObserver {
 public:
  ResultFileWriter(std::filesystem::path path, nlohmann::json environment);
  void on_start(const TrialStart& start) override;
  void on_epoch(const TrialOutcome& so_far, const EpochStats& epoch) override;
  void on_finish(const TrialOutcome& outcome, const telemetry::SampleLog& log) override;
  const nlohmann::json& document() const { return doc_; }

 private:
  void write();
  std::filesystem::path path_;
  nlohmann::json doc_;
};

// Writes every step (step, epoch, learning rate, loss, batch accuracy) to a CSV file, for
// comparing runs step by step (`train --step-log FILE`).
class StepLogWriter : public TrialObserver {
 public:
  explicit StepLogWriter(const std::filesystem::path& path);
  ~StepLogWriter() override;
  void on_step(const StepRecord& step) override;
  void on_finish(const TrialOutcome& outcome, const telemetry::SampleLog& log) override;

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

// Writes the trial's telemetry samples as JSON when it ends (`train --telemetry-log FILE`):
// every sample with its phase and readings, and the wall-clock time sampling started, so that
// they can be lined up with another tool's samples (the GPU check compares them to nvidia-smi).
class TelemetryLogWriter : public TrialObserver {
 public:
  explicit TelemetryLogWriter(std::filesystem::path path) : path_(std::move(path)) {}
  void on_finish(const TrialOutcome& outcome, const telemetry::SampleLog& log) override;

 private:
  std::filesystem::path path_;
};

// Fans results out to several observers.
class ObserverList : public TrialObserver {
 public:
  void add(TrialObserver* o) { observers_.push_back(o); }
  void on_start(const TrialStart& s) override;
  void on_step(const StepRecord& s) override;
  void on_epoch(const TrialOutcome& s, const EpochStats& e) override;
  void on_finish(const TrialOutcome& o, const telemetry::SampleLog& log) override;

 private:
  std::vector<TrialObserver*> observers_;
};

}  // namespace cb::trial
