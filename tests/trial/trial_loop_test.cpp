// The trial loop driven by a fake backend and a fake clock: every stage (resume, divergence,
// time limit, time to target, warm-up exclusion, interruption, the capability query) tested on
// its own, with exact expected figures because the fake clock makes every duration known.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <utility>

#include "backends/backend.h"
#include "core/error.h"
#include "core/log.h"
#include "model/analysis.h"
#include "support/temp_dir.h"
#include "trial/schedule.h"
#include "trial/trial.h"

namespace cb::trial {
namespace {

class FakeClock final : public TrialClock {
 public:
  double now_s() const override { return t; }
  double t = 0;
};

// What the fake trainer does and what it saw. Steps are numbered from 1 over the trainer's life.
struct Script {
  FakeClock* clock = nullptr;
  std::function<double(std::int64_t step)> step_seconds = [](std::int64_t) { return 1.0; };
  std::function<double(std::int64_t step)> loss = [](std::int64_t step) { return 2.0 / step; };
  std::function<double(std::int64_t step, int n)> accuracy = [](std::int64_t, int) { return 0.25; };
  std::function<double(int evaluation)> test_accuracy = [](int) { return 0.5; };
  std::function<void(std::int64_t step)> after_step = [](std::int64_t) {};
  std::int64_t parameter_offset = 0;  // reports this many parameters more than the spec has
  // seen
  int trainers_created = 0;
  std::int64_t steps = 0;
  int evaluations = 0;
  std::int64_t images_evaluated = 0;
  std::vector<double> learning_rates;
  std::vector<int> reads;  // the number of steps each read_steps call returned, in order
  bool drop_next_read = false;  // the next read_steps forgets its last step (a broken trainer)
  int weight_imports = 0;
  float first_weight_imported = 0;
};

class FakeTrainer final : public backends::Trainer {
 public:
  FakeTrainer(const backends::TrainerConfig& config, Script& script)
      : script_(script), weights_(*config.initial_weights),
        parameters_(config.model->parameters + script.parameter_offset) {}
  data::Layout input_layout() const override { return data::Layout::nchw; }
  std::int64_t parameter_count() const override { return parameters_; }
  void train_step(const data::Batch& batch) override {
    const std::int64_t step = ++script_.steps;
    script_.clock->t += script_.step_seconds(step);
    script_.learning_rates.push_back(lr_);
    weights_.tensors[0].tensor.values[0] = static_cast<float>(step);  // visible in checkpoints
    script_.after_step(step);
    unread_.push_back({script_.loss(step), script_.accuracy(step, batch.n)});
  }
  std::vector<backends::StepResult> read_steps() override {
    if (script_.drop_next_read && !unread_.empty()) unread_.pop_back();
    script_.drop_next_read = false;
    script_.reads.push_back(static_cast<int>(unread_.size()));
    return std::exchange(unread_, {});
  }
  backends::EvalResult evaluate(const data::Batch& batch) override {
    if (first_eval_batch_) ++script_.evaluations;
    first_eval_batch_ = false;
    script_.images_evaluated += batch.n;
    const double acc = script_.test_accuracy(script_.evaluations);
    return {static_cast<std::int64_t>(std::llround(acc * batch.n)), 0.5 * batch.n, batch.n};
  }
  std::vector<float> logits(const data::Batch&) override { return {}; }
  void set_learning_rate(double lr) override {
    lr_ = lr;
    first_eval_batch_ = true;  // the next evaluation is a new one
  }
  void sync() override {}
  model::Weights export_weights() override { return weights_; }
  void import_weights(const model::Weights& weights) override {
    weights_ = weights;
    ++script_.weight_imports;
    script_.first_weight_imported = weights.tensors[0].tensor.values[0];
  }

 private:
  Script& script_;
  model::Weights weights_;
  std::int64_t parameters_;
  double lr_ = 0;
  bool first_eval_batch_ = true;
  std::vector<backends::StepResult> unread_;
};

class FakeBackend final : public backends::Backend {
 public:
  explicit FakeBackend(Script& script) : script_(script) {}
  backends::BackendInfo info() const override {
    return {"fake", "1.0", true, "", {{"cpu", "a fake CPU"}}};
  }
  std::optional<std::string> unsupported(const backends::ExecutionSettings& s) const override {
    if (s.precision == backends::MixedPrecision::bf16) return std::string("fake has no bf16");
    return std::nullopt;
  }
  std::unique_ptr<backends::Trainer> create_trainer(const backends::TrainerConfig& config) const override {
    ++script_.trainers_created;
    return std::make_unique<FakeTrainer>(config, script_);
  }

 private:
  Script& script_;
};

// 64 synthetic training images in batches of 16: 4 steps an epoch; 32 test images.
class TrialLoop : public ::testing::Test {
 protected:
  void SetUp() override {
    log::set_quiet(true);
    interrupt_flag().store(false);
    script.clock = &clock;
    backends::register_backend(std::make_unique<FakeBackend>(script));
    spec.framework = "fake";
    spec.model = "simple-cnn";
    spec.seed = 3;
    spec.data.dataset = "synthetic";
    spec.data.allow_download = false;
    spec.data.synthetic.train_count = 64;
    spec.data.synthetic.test_count = 32;
    spec.telemetry.enabled = false;
    spec.recipe.epochs = 3;
    spec.recipe.warmup_steps = 0;
    spec.recipe.pipeline.batch_size = 16;
    spec.recipe.pipeline.workers = 1;
  }
  void TearDown() override {
    interrupt_flag().store(false);
    log::set_quiet(false);
  }
  TrialOutcome run() { return run_trial(spec, observer, clock); }

  struct Recorder : TrialObserver {
    void on_step(const StepRecord& s) override { steps.push_back(s); }
    void on_epoch(const TrialOutcome&, const EpochStats& e) override { epochs.push_back(e); }
    void on_finish(const TrialOutcome& o, const telemetry::SampleLog&) override { finished = o.state; }
    std::vector<StepRecord> steps;
    std::vector<EpochStats> epochs;
    std::optional<results::TrialStatus> finished;
  };

  FakeClock clock;
  Script script;
  TrialSpec spec;
  Recorder observer;
};

TEST_F(TrialLoop, CompletesEveryEpochAndReportsEachStepAndEpoch) {
  const TrialOutcome out = run();
  EXPECT_EQ(out.state, results::TrialStatus::completed);
  EXPECT_EQ(out.steps, 12);
  EXPECT_EQ(out.training_images, 192);
  ASSERT_EQ(out.epochs.size(), 3u);
  EXPECT_DOUBLE_EQ(out.training_time_s, 12.0);  // one fake second a step, nothing else timed
  EXPECT_DOUBLE_EQ(out.epochs[0].train_loss, (2.0 / 1 + 2.0 / 2 + 2.0 / 3 + 2.0 / 4) / 4);
  EXPECT_DOUBLE_EQ(out.epochs[0].images_per_s, 16.0);
  ASSERT_EQ(observer.steps.size(), 12u);
  EXPECT_EQ(observer.steps[5].step, 6);
  EXPECT_EQ(observer.steps[5].epoch, 2);
  EXPECT_EQ(observer.epochs.size(), 3u);
  EXPECT_EQ(observer.finished, results::TrialStatus::completed);
  EXPECT_EQ(script.evaluations, 3);
}

TEST_F(TrialLoop, SetsTheHarnessScheduleBeforeEveryStep) {
  spec.recipe.schedule.kind = ScheduleConfig::Kind::onecycle;
  spec.recipe.schedule.peak_lr = 0.4;
  run();
  ASSERT_EQ(script.learning_rates.size(), 12u);
  for (std::int64_t i = 0; i < 12; ++i) {
    EXPECT_DOUBLE_EQ(script.learning_rates[i], learning_rate_at(spec.recipe.schedule, i, 12, 4)) << i;
  }
}

TEST_F(TrialLoop, DivergenceEndsTheTrialAtTheStepAndKeepsTheEpochsBefore) {
  script.loss = [](std::int64_t step) { return step == 6 ? std::numeric_limits<double>::quiet_NaN() : 1.0; };
  const TrialOutcome out = run();
  EXPECT_EQ(out.state, results::TrialStatus::diverged);
  EXPECT_EQ(out.diverged_step, 6);
  EXPECT_NE(out.error.find("at step 6 (epoch 2)"), std::string::npos) << out.error;
  ASSERT_EQ(out.epochs.size(), 2u);  // epoch 2 reports its one good step, unevaluated
  EXPECT_TRUE(out.epochs[0].test_accuracy.has_value());
  EXPECT_FALSE(out.epochs[1].test_accuracy.has_value());
  EXPECT_DOUBLE_EQ(out.epochs[1].train_loss, 1.0);  // the NaN is not averaged in
}

TEST_F(TrialLoop, TimeLimitStopsAfterTheStepThatPassesItAndKeepsFinishedEpochs) {
  spec.time_limit_s = 5.5;
  const TrialOutcome out = run();
  EXPECT_EQ(out.state, results::TrialStatus::timeout);
  EXPECT_EQ(out.steps, 6);  // at 6 s, the first step past 5.5 s
  EXPECT_NE(out.error.find("time limit of 5.5 s during epoch 2"), std::string::npos) << out.error;
  ASSERT_EQ(out.epochs.size(), 2u);
  EXPECT_TRUE(out.epochs[0].test_accuracy.has_value());
  EXPECT_FALSE(out.epochs[1].test_accuracy.has_value());
  EXPECT_EQ(observer.finished, results::TrialStatus::timeout);
}

TEST_F(TrialLoop, TimeToTargetIsTheTrainingTimeAtTheFirstEvaluationThatReachesIt) {
  script.test_accuracy = [](int evaluation) { return 0.25 * evaluation; };  // 0.25, 0.5, 0.75
  spec.recipe.target_accuracy = 0.5;
  const TrialOutcome out = run();
  ASSERT_TRUE(out.time_to_target_s.has_value());
  EXPECT_DOUBLE_EQ(*out.time_to_target_s, 8.0);  // after epoch 2's 8 steps
  EXPECT_DOUBLE_EQ(*out.test_accuracy, 0.75);
}

TEST_F(TrialLoop, TimeToTargetIsAbsentWhenNeverReached) {
  spec.recipe.target_accuracy = 0.9;
  EXPECT_FALSE(run().time_to_target_s.has_value());
}

TEST_F(TrialLoop, WarmupStepsCountInTrainingTimeButNotInThroughput) {
  spec.recipe.warmup_steps = 2;
  script.step_seconds = [](std::int64_t step) { return step <= 2 ? 5.0 : 1.0; };
  const TrialOutcome out = run();
  EXPECT_DOUBLE_EQ(out.training_time_s, 20.0);
  EXPECT_DOUBLE_EQ(out.images_per_s_with_warmup, 192.0 / 20.0);
  EXPECT_DOUBLE_EQ(out.images_per_s, 160.0 / 10.0);
}

TEST_F(TrialLoop, InterruptionStopsBeforeTheNextStep) {
  script.after_step = [](std::int64_t step) {
    if (step == 3) interrupt_flag().store(true);
  };
  const TrialOutcome out = run();
  EXPECT_EQ(out.state, results::TrialStatus::interrupted);
  EXPECT_EQ(out.steps, 3);
  EXPECT_EQ(out.error, "interrupted during epoch 1");
  ASSERT_EQ(out.epochs.size(), 1u);
  EXPECT_FALSE(out.epochs[0].test_accuracy.has_value());
}

TEST_F(TrialLoop, ResumeContinuesFromTheLastCheckpointedEpoch) {
  testing::TempDir dir;
  spec.out_dir = dir.path();
  spec.checkpoint = true;
  script.after_step = [](std::int64_t step) {
    if (step == 6) interrupt_flag().store(true);
  };
  const TrialOutcome first = run();
  ASSERT_EQ(first.state, results::TrialStatus::interrupted);
  ASSERT_TRUE(std::filesystem::exists(dir / "checkpoint" / "state.json"));

  interrupt_flag().store(false);
  script.after_step = [](std::int64_t) {};
  script.learning_rates.clear();
  spec.resume = true;
  const TrialOutcome out = run();
  EXPECT_EQ(out.state, results::TrialStatus::completed);
  EXPECT_EQ(script.weight_imports, 1);
  EXPECT_EQ(script.first_weight_imported, 4.0f);  // the weights as they were after epoch 1
  EXPECT_EQ(out.steps, 12);                       // 4 restored + 8 trained
  ASSERT_EQ(out.epochs.size(), 3u);
  EXPECT_EQ(out.epochs[0].epoch, 1);
  EXPECT_DOUBLE_EQ(out.training_time_s, 12.0);
  ASSERT_EQ(script.learning_rates.size(), 8u);  // the schedule goes on from step 5
  EXPECT_DOUBLE_EQ(script.learning_rates[0], learning_rate_at(spec.recipe.schedule, 4, 12, 4));
}

TEST_F(TrialLoop, UnsupportedSettingsAreRefusedBeforeATrainerIsBuilt) {
  spec.recipe.execution.precision = backends::MixedPrecision::bf16;
  try {
    run();
    FAIL() << "expected Unsupported";
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("fake has no bf16"), std::string::npos) << e.what();
  }
  EXPECT_EQ(script.trainers_created, 0);
}

TEST_F(TrialLoop, AParameterCountThatDisagreesWithTheSpecFailsTheCheck) {
  script.parameter_offset = 1;
  EXPECT_THROW(run(), CheckFailed);
  EXPECT_EQ(script.steps, 0);
}

TEST_F(TrialLoop, AShortRunTrainsOnlyMaxStepsPerEpoch) {
  spec.recipe.max_steps_per_epoch = 2;
  const TrialOutcome out = run();
  EXPECT_EQ(out.steps, 6);
  EXPECT_EQ(out.training_images, 96);
}

TEST_F(TrialLoop, EvalImagesEvaluatesThatManyTestImagesEachTime) {
  spec.recipe.eval_images = 10;  // of the 32 test images
  run();
  EXPECT_EQ(script.evaluations, 3);
  EXPECT_EQ(script.images_evaluated, 3 * 10);
}

// Reading the steps' values in batches (TrialSpec::read_every, Trainer::read_steps): the harness
// reads at every read_every-th step, at each epoch's end and at the warm-up's end, and what it
// reports is exactly what reading every step reports.

TEST_F(TrialLoop, ReadsEveryStepOnTheCpuByDefault) {
  run();
  EXPECT_EQ(script.reads, std::vector<int>(12, 1));
}

TEST_F(TrialLoop, ReadsEveryNStepsAndTheRemainderAtEachEpochEnd) {
  spec.read_every = 3;  // 4 steps an epoch: 3, then the epoch's last
  const TrialOutcome out = run();
  EXPECT_EQ(out.state, results::TrialStatus::completed);
  EXPECT_EQ(script.reads, (std::vector<int>{3, 1, 3, 1, 3, 1}));
  spec.read_every = 10;  // more than an epoch: one read at each epoch's end
  script.reads.clear();
  run();
  EXPECT_EQ(script.reads, (std::vector<int>{4, 4, 4}));
}

TEST_F(TrialLoop, ValuesReadInBatchesEqualThoseReadEveryStepInOrderAndCount) {
  script.loss = [](std::int64_t step) { return 1.0 + 0.125 * static_cast<double>(step % 5); };
  script.accuracy = [](std::int64_t step, int n) { return static_cast<double>(step % n) / n; };
  spec.recipe.schedule.kind = ScheduleConfig::Kind::onecycle;
  const TrialOutcome every = run();
  const std::vector<StepRecord> every_steps = observer.steps;
  observer.steps.clear();
  script.steps = 0;  // the fake numbers steps over the script's life: the second trial's from 1 again
  spec.read_every = 3;
  const TrialOutcome batched = run();
  ASSERT_EQ(every_steps.size(), 12u);
  ASSERT_EQ(observer.steps.size(), every_steps.size());
  for (std::size_t i = 0; i < every_steps.size(); ++i) {
    const StepRecord &a = every_steps[i], &b = observer.steps[i];
    EXPECT_EQ(b.step, static_cast<std::int64_t>(i) + 1);
    EXPECT_EQ(b.step, a.step);
    EXPECT_EQ(b.epoch, a.epoch);
    EXPECT_EQ(b.learning_rate, a.learning_rate) << "step " << a.step;
    EXPECT_EQ(b.loss, a.loss) << "step " << a.step;
    EXPECT_EQ(b.accuracy, a.accuracy) << "step " << a.step;
  }
  EXPECT_EQ(batched.steps, every.steps);
  EXPECT_EQ(batched.training_images, every.training_images);
  ASSERT_EQ(batched.epochs.size(), every.epochs.size());
  for (std::size_t e = 0; e < every.epochs.size(); ++e) {
    EXPECT_EQ(batched.epochs[e].train_loss, every.epochs[e].train_loss) << "epoch " << e + 1;
    EXPECT_EQ(batched.epochs[e].train_accuracy, every.epochs[e].train_accuracy) << "epoch " << e + 1;
    EXPECT_EQ(batched.epochs[e].learning_rate, every.epochs[e].learning_rate) << "epoch " << e + 1;
  }
  EXPECT_DOUBLE_EQ(every.epochs[0].train_accuracy, (1.0 + 2.0 + 3.0 + 4.0) / 16 / 4);
}

TEST_F(TrialLoop, DivergenceInsideABatchIsReportedAtItsStepAndLaterStepsAreDropped) {
  script.loss = [](std::int64_t step) { return step == 6 ? std::numeric_limits<double>::infinity() : 1.0; };
  spec.read_every = 3;  // reads: steps 1-3, 4 (epoch end), 5-7 (the second of which diverged)
  const TrialOutcome out = run();
  EXPECT_EQ(out.state, results::TrialStatus::diverged);
  EXPECT_EQ(out.diverged_step, 6);
  EXPECT_NE(out.error.find("loss became inf at step 6 (epoch 2)"), std::string::npos) << out.error;
  EXPECT_EQ(script.steps, 7);  // step 7 was queued before step 6's loss was read ...
  EXPECT_EQ(out.steps, 6);     // ... and counts nowhere
  EXPECT_EQ(out.training_images, 5 * 16);
  ASSERT_EQ(observer.steps.size(), 6u);  // the diverged step is reported, as when reading each step
  EXPECT_TRUE(std::isinf(observer.steps.back().loss));
  ASSERT_EQ(out.epochs.size(), 2u);
  EXPECT_DOUBLE_EQ(out.epochs[1].train_loss, 1.0);  // step 5 only
  EXPECT_FALSE(out.epochs[1].test_accuracy.has_value());
}

TEST_F(TrialLoop, TheWarmupEndIsAReadPointAndThroughputIsUnchanged) {
  spec.recipe.warmup_steps = 2;
  spec.read_every = 10;
  script.step_seconds = [](std::int64_t step) { return step <= 2 ? 5.0 : 1.0; };
  const TrialOutcome out = run();
  EXPECT_EQ(script.reads, (std::vector<int>{2, 2, 4, 4}));
  EXPECT_DOUBLE_EQ(out.training_time_s, 20.0);
  EXPECT_DOUBLE_EQ(out.images_per_s, 160.0 / 10.0);
}

TEST_F(TrialLoop, InterruptionReadsTheQueuedStepsBeforeStopping) {
  spec.read_every = 10;
  script.after_step = [](std::int64_t step) {
    if (step == 3) interrupt_flag().store(true);
  };
  const TrialOutcome out = run();
  EXPECT_EQ(out.state, results::TrialStatus::interrupted);
  EXPECT_EQ(script.reads, std::vector<int>{3});
  EXPECT_EQ(out.steps, 3);
  EXPECT_EQ(observer.steps.size(), 3u);
  ASSERT_EQ(out.epochs.size(), 1u);
  EXPECT_DOUBLE_EQ(out.epochs[0].train_loss, (2.0 / 1 + 2.0 / 2 + 2.0 / 3) / 3);
}

TEST_F(TrialLoop, ATrainerThatReadsBackTheWrongNumberOfStepsFailsTheCheck) {
  script.after_step = [this](std::int64_t step) {
    if (step == 2) script.drop_next_read = true;
  };
  EXPECT_THROW(run(), CheckFailed);
}

TEST(ReadEvery, IsEveryStepOnTheCpuAndBatchedElsewhereUnlessSet) {
  EXPECT_EQ(read_every_for(0, "cpu"), 1);
  EXPECT_EQ(read_every_for(0, "cuda:0"), kDeviceReadEvery);
  EXPECT_GT(kDeviceReadEvery, 1);
  EXPECT_EQ(read_every_for(7, "cpu"), 7);
  EXPECT_EQ(read_every_for(1, "cuda:0"), 1);
  try {
    read_every_for(-1, "cpu");
    FAIL() << "no InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--read-every -1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cb::trial
