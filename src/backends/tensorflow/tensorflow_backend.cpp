// The TensorFlow backend: a Backend that reports whether TensorFlow's C library could be loaded
// (and why not), and a Trainer that runs the planned graph in one TensorFlow session.
#include <fmt/format.h>

#include <cstdlib>
#include <mutex>
#include <utility>

#include "backends/backend.h"
#include "backends/tensorflow/graph_plan.h"
#include "backends/tensorflow/session_config.h"
#include "backends/tensorflow/tf_library.h"
#include "backends/tensorflow/tf_session.h"
#include "core/error.h"

namespace cb::backends {
namespace {

using tf::DataType;
using tf::Feed;

class TensorFlowTrainer : public Trainer {
 public:
  TensorFlowTrainer(std::shared_ptr<const tf::TensorFlowLibrary> library,
                    const TrainerConfig& config)
      : spec_(config.model->spec), optimizer_(config.optimizer) {
    tf::PlanOptions options;
    options.optimizer = config.optimizer;
    options.seed = config.seed;
    options.deterministic = config.execution.deterministic;
    plan_ = tf::plan_graph(*config.model, options);
    session_ = std::make_unique<tf::TensorFlowSession>(std::move(library), plan_,
                                                       tf::placement_for(config.execution));
    import_weights(*config.initial_weights);
    for (const auto& v : plan_.variables) {
      if (v.trainable) momentum_inits_.push_back(v.momentum_init_assign);
      if (!v.second_moment_init_assign.empty()) {
        momentum_inits_.push_back(v.second_moment_init_assign);
      }
    }
    session_->run({}, {}, momentum_inits_, "zeroing the momentum buffers");
  }

  data::Layout input_layout() const override { return data::Layout::nhwc; }

  std::int64_t parameter_count() const override {
    std::int64_t n = 0;
    for (const auto& v : plan_.variables) {
      if (!v.trainable) continue;
      std::int64_t size = 1;
      for (auto d : v.tf_shape) size *= d;
      n += size;
    }
    return n;
  }

  void train_step(const data::Batch& batch) override {
    std::vector<Feed> feeds{images(batch),
                            {plan_.targets, DataType::float32,
                             {batch.n, plan_.num_classes},
                             tf::smoothed_targets(batch.labels, plan_.num_classes,
                                                  optimizer_.label_smoothing),
                             {}},
                            {plan_.learning_rate, DataType::float32, {}, {learning_rate_}, {}}};
    for (const auto& mask : plan_.dropout_masks) {
      Feed f{mask.placeholder, DataType::int32, {static_cast<std::int64_t>(mask.per_sample.size() + 1)}, {}, {batch.n}};
      for (auto d : mask.per_sample) f.ints.push_back(static_cast<std::int32_t>(d));
      feeds.push_back(std::move(f));
    }
    if (optimizer_.kind == OptimizerConfig::Kind::adamw) {
      const auto k = tf::adamw_scalars(optimizer_, learning_rate_, ++step_);
      for (const auto& [name, value] : {std::pair{plan_.adam_decay_factor, k.decay_factor},
                                        std::pair{plan_.adam_step_size, k.step_size},
                                        std::pair{plan_.adam_sqrt_correction2, k.sqrt_correction2}}) {
        feeds.push_back({name, DataType::float32, {}, {value}, {}});
      }
    }
    const auto out = session_->run(feeds, {plan_.loss, plan_.train_logits}, plan_.step_targets,
                                   "training step");
    const auto scored = tf::score_logits(out[1], batch.labels, plan_.num_classes);
    // The session's run returned the values to the host already: keeping them costs nothing.
    unread_.push_back({out[0].at(0), batch.n ? static_cast<double>(scored.correct) / batch.n : 0.0});
  }

  std::vector<StepResult> read_steps() override { return std::exchange(unread_, {}); }

  EvalResult evaluate(const data::Batch& batch) override {
    return tf::score_logits(logits(batch), batch.labels, plan_.num_classes);
  }

  std::vector<float> logits(const data::Batch& batch) override {
    return session_->run({images(batch)}, {plan_.eval_logits}, {}, "evaluation")[0];
  }

  void set_learning_rate(double lr) override { learning_rate_ = static_cast<float>(lr); }

  // TF_SessionRun returns only once its fetched outputs are on the host, so nothing is queued.
  void sync() override {}

  model::Weights export_weights() override {
    std::vector<tf::OpInput> reads;
    for (const auto& v : plan_.variables) reads.push_back({v.read, 0});
    const auto values = session_->run({}, reads, {}, "reading the weights");
    model::Weights weights;
    for (std::size_t i = 0; i < plan_.variables.size(); ++i) {
      const auto& v = plan_.variables[i];
      weights.tensors.push_back(
          {v.spec_name, v.trainable,
           {v.spec_shape, tf::from_tf_layout(values[i], v.spec_shape, v.layout)}});
    }
    return weights;
  }

  void import_weights(const model::Weights& weights) override {
    std::vector<Feed> feeds;
    std::vector<std::string> assigns;
    for (const auto& v : plan_.variables) {
      const auto* t = weights.find(v.spec_name);
      if (!t) throw InputError(fmt::format("weights lack the tensor '{}'", v.spec_name));
      if (t->tensor.shape != v.spec_shape) {
        throw InputError(fmt::format("weight '{}' has shape [{}], expected [{}]", v.spec_name,
                                     fmt::join(t->tensor.shape, ", "),
                                     fmt::join(v.spec_shape, ", ")));
      }
      feeds.push_back({v.init_value, DataType::float32, v.tf_shape,
                       tf::to_tf_layout(t->tensor.values, v.spec_shape, v.layout), {}});
      assigns.push_back(v.init_assign);
    }
    session_->run(feeds, {}, assigns, "loading the weights");
  }

 private:
  Feed images(const data::Batch& batch) const {
    const auto& in = spec_.input;
    if (batch.layout != data::Layout::nhwc || batch.precision != data::Precision::float32) {
      throw InputError("the TensorFlow backend needs float32 NHWC batches");
    }
    if (batch.c != in.c || batch.h != in.h || batch.w != in.w ||
        static_cast<std::int64_t>(batch.data.size()) != batch.numel() ||
        static_cast<int>(batch.labels.size()) != batch.n) {
      throw InputError(fmt::format("batch of {}×{}×{}×{} with {} labels does not match the "
                                   "model input {}×{}×{}",
                                   batch.n, batch.h, batch.w, batch.c, batch.labels.size(),
                                   in.h, in.w, in.c));
    }
    return {plan_.images, DataType::float32, {batch.n, batch.h, batch.w, batch.c}, batch.data, {}};
  }

  model::ModelSpec spec_;  // a copy: the trainer may outlive the caller's spec
  OptimizerConfig optimizer_;
  tf::GraphPlan plan_;
  std::unique_ptr<tf::TensorFlowSession> session_;
  std::vector<std::string> momentum_inits_;
  float learning_rate_ = 0.0f;
  std::int64_t step_ = 0;  // AdamW's bias-correction step (1 for the first)
  std::vector<StepResult> unread_;  // train_step's results until read_steps
};

class TensorFlowBackend : public Backend {
 public:
  // Without loading the library (a Python probe can take seconds): lookups by name stay cheap.
  std::string name() const override { return "tensorflow"; }

  BackendInfo info() const override {
    BackendInfo info;
    info.name = "tensorflow";
    const auto& loaded = tf::process_tensorflow_library();
    if (!loaded.library) {
      info.unavailable_reason = loaded.reason;
      return info;
    }
    std::call_once(devices_once_, [&] {
      try {
        devices_ = tf::list_devices(*loaded.library);
      } catch (const CheckFailed& e) {
        devices_error_ = e.what();
      }
    });
    info.version = loaded.library->version();
    if (!devices_error_.empty()) {
      info.unavailable_reason = fmt::format("TensorFlow {} ({}) was loaded, but cannot open a "
                                            "session: {}",
                                            info.version, loaded.library->path(), devices_error_);
      return info;
    }
    info.available = true;
    info.devices = devices_;
    return info;
  }

  std::optional<std::string> cannot_build(const model::ModelSpec& spec) const override {
    return tf::unsupported_reason(model::analyse(spec), OptimizerConfig{});
  }

  // TensorFlow honours every setting but mixed precision (channels_last and autotune are hints
  // it has no use for; determinism and XLA are session options). Neither fp16 nor bf16 is built:
  // both need float casts around every op, float32 master weights and, for fp16, dynamic loss
  // scaling with a skipped step on overflow (the torch backend's definitions), and none of it
  // could be run against a TensorFlow here, so each is refused by name instead.
  std::optional<std::string> unsupported(const ExecutionSettings& settings) const override {
    switch (settings.precision) {
      case MixedPrecision::off:
        return std::nullopt;
      case MixedPrecision::fp16:
        return std::string("the TensorFlow backend trains in float32 only: fp16 mixed precision "
                           "(with dynamic loss scaling) is not implemented (precision = fp16)");
      case MixedPrecision::bf16:
        return std::string("the TensorFlow backend trains in float32 only: bf16 mixed precision "
                           "is not implemented (precision = bf16)");
    }
    return std::nullopt;
  }

  std::unique_ptr<Trainer> create_trainer(const TrainerConfig& config) const override {
    const auto& loaded = tf::process_tensorflow_library();
    if (!loaded.library) {
      throw Unsupported("framework 'tensorflow' is not available: " + loaded.reason);
    }
    const auto status = info();
    if (!status.available) {
      throw Unsupported("framework 'tensorflow' is not available: " + status.unavailable_reason);
    }
    if (!config.model || !config.initial_weights) {
      throw InputError("the TensorFlow trainer needs a model and its initial weights");
    }
    if (auto why = unsupported(config.execution)) throw Unsupported(*why);
    const auto& devices = status.devices;
    bool known = false;
    for (const auto& d : devices) known = known || d.id == config.execution.device;
    if (!known) {
      std::string ids;
      for (const auto& d : devices) ids += (ids.empty() ? "" : ", ") + d.id;
      throw InputError(fmt::format("device '{}' is not one TensorFlow sees here (it sees: {})",
                                   config.execution.device, ids));
    }
    claim_determinism(config.execution.deterministic);
    // TensorFlow reads this when its kernels first ask, so it must precede the session.
    if (config.execution.deterministic) setenv("TF_DETERMINISTIC_OPS", "1", 1);
    return std::make_unique<TensorFlowTrainer>(loaded.library, config);
  }

 private:
  // TensorFlow reads TF_DETERMINISTIC_OPS once per process (tensorflow/core/util/
  // determinism.cc), at the first kernel that asks: every trainer of a process must want what
  // the first one did, or it would silently get the other mode.
  void claim_determinism(bool deterministic) const {
    std::lock_guard lock(determinism_mutex_);
    if (!determinism_) determinism_ = deterministic;
    if (*determinism_ != deterministic) {
      throw Unsupported(fmt::format(
          "TensorFlow fixes op determinism once per process, and this process's first "
          "TensorFlow trainer ran with deterministic = {}; run the trial with deterministic = "
          "{} in its own process",
          *determinism_, deterministic));
    }
  }

  mutable std::mutex determinism_mutex_;
  mutable std::optional<bool> determinism_;
  mutable std::once_flag devices_once_;
  mutable std::vector<DeviceInfo> devices_;
  mutable std::string devices_error_;  // why no session could be opened to list them
};

}  // namespace

std::unique_ptr<Backend> make_tensorflow_backend() { return std::make_unique<TensorFlowBackend>(); }

}  // namespace cb::backends
