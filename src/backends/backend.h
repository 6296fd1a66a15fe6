// The backend contract: what a framework implements so that the harness can train the same
// model, from the same weights, on the same batches as every other framework. The harness owns
// data, model spec, initial weights, schedule, timing and results; a backend owns only the math.
// Members marked (optional) have a default that says what happens when a backend lacks them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/batch.h"
#include "model/analysis.h"
#include "model/spec.h"
#include "model/weights.h"

namespace cb::backends {

struct DeviceInfo {
  std::string id;           // "cpu", "cuda:0", ...
  std::string description;  // "Intel Xeon ... (2 threads)", "NVIDIA H200 (139 GiB)"
};

struct BackendInfo {
  std::string name;                // "torch", "dlib", "tensorflow"
  std::string version;             // the framework's own version, "" when unavailable
  bool available = false;          // usable on this machine now
  std::string unavailable_reason;  // why not, and how to fix it, when !available
  std::vector<DeviceInfo> devices; // devices this backend can train on here
};

// The optimizer as the recipe defines it (docs/recipes.md); backends must follow this
// definition exactly, whatever their framework's own conventions:
//   sgd:   g = grad + weight_decay * w;  v = momentum * v + g;
//          step = nesterov ? g + momentum * v : v;  w -= lr * step        (PyTorch's SGD)
//   adamw: w -= lr * weight_decay * w; then Adam with beta1, beta2, eps   (PyTorch's AdamW)
// Weight decay applies to every trainable tensor (batch-norm and bias included).
struct OptimizerConfig {
  enum class Kind { sgd, adamw };
  Kind kind = Kind::sgd;
  double momentum = 0.9;
  bool nesterov = true;
  double weight_decay = 5e-4;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adamw
  double label_smoothing = 0.0;  // cross-entropy target: (1 - s) one-hot + s / classes
};

enum class MixedPrecision { off, fp16, bf16 };

// A data-parallel run's place in its world (docs/distributed.md): every rank builds the same
// model from the same weights; gradients are averaged over the ranks every step.
struct DistributedConfig {
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";  // host of rank 0's rendezvous store
  int master_port = 29500;
  int timeout_s = 60;  // rendezvous and every collective: a dead rank fails the others by then
  std::int64_t bucket_bytes = 25 << 20;  // gradients are all-reduced in buckets of about this size
};

// How a trial executes: the one struct that a recipe's [hardware] table, the command line's
// flags, the results and a trainer's configuration all share (docs/recipes.md).
struct ExecutionSettings {
  std::string device = "cpu";  // one of BackendInfo::devices' ids
  int threads = 0;             // CPU threads for the framework; 0 = all cores
  MixedPrecision precision = MixedPrecision::off;  // (optional) GPU only
  bool channels_last = false;  // (optional) memory format hint
  bool autotune = false;       // (optional) cuDNN benchmark mode
  bool deterministic = false;  // (optional) deterministic kernels
  bool xla = false;            // (optional) TensorFlow's XLA
  bool operator==(const ExecutionSettings&) const = default;
};
std::string_view to_string(MixedPrecision precision);
// "1e-05" or "1e-05, 0.001": the distinct values in first-seen order, "none" when empty (for
// EffectiveSetting values).
std::string distinct_values(const std::vector<double>& values);
// "off", "fp16" or "bf16"; nullopt for anything else.
std::optional<MixedPrecision> parse_mixed_precision(std::string_view name);

struct TrainerConfig {
  // The network to build, analysed once by the harness (model::analyse): the spec, every
  // layer's resolved inputs, input and output shapes and tensor shapes. Backends build from it
  // and infer nothing again.
  std::shared_ptr<const model::AnalysedModel> model;
  const model::Weights* initial_weights = nullptr; // every tensor of the spec, loaded exactly
  OptimizerConfig optimizer;
  ExecutionSettings execution;
  std::uint64_t seed = 0;      // seeds the framework's own random ops (dropout masks)
  // (optional) Null: one process. Only backends whose supports_distributed() is true get one.
  std::shared_ptr<const DistributedConfig> distributed;
};

struct StepResult {
  double loss = 0;      // mean loss over the batch (with label smoothing, if any)
  double accuracy = 0;  // fraction of the batch predicted correctly, in [0, 1]
};

struct EvalResult {
  std::int64_t correct = 0;  // samples predicted correctly
  double loss_sum = 0;       // summed (not mean) loss, without label smoothing
  std::int64_t count = 0;    // samples evaluated
};

// One setting where frameworks' defaults differ and can silently change results (batch-norm
// eps and momentum convention, weight decay on biases and batch-norm, padding, loss reduction),
// as a trainer applies it: `cifarbench parity` shows them side by side.
struct EffectiveSetting {
  std::string name;   // "batch_norm.eps", "weight_decay.applies_to", ...
  std::string value;  // "1e-05", "every trainable tensor (18 of 18)", ...
};

class Trainer {
 public:
  virtual ~Trainer() = default;
  // The layout train_step/evaluate expect (the harness converts; NCHW or NHWC).
  virtual data::Layout input_layout() const = 0;
  // Trainable parameters as the framework counts them (must equal the spec's count).
  virtual std::int64_t parameter_count() const = 0;
  // One optimizer step on the batch, in training mode. Its loss and accuracy (before the update)
  // are not returned: they stay where the math ran until read_steps, so that a device backend
  // never waits for its device here and the next step is queued while this one runs.
  virtual void train_step(const data::Batch& batch) = 0;
  // The StepResult of every train_step since the last call, oldest first (empty when none), and
  // forgets them: the one point where a device backend waits for those steps to finish (one
  // host synchronisation for all of them). The harness calls it every few steps
  // (TrialSpec::read_every), at each epoch's end and before every timing point; values not
  // read yet are kept (two numbers a step), so a caller that trains for long reads now and then.
  virtual std::vector<StepResult> read_steps() = 0;
  // Forward pass in inference mode (running statistics, no dropout); no parameter change.
  virtual EvalResult evaluate(const data::Batch& batch) = 0;
  // Logits of a batch in inference mode, n × classes row-major (for conformance tests).
  virtual std::vector<float> logits(const data::Batch& batch) = 0;
  // Sets the learning rate used by the following train_step calls.
  virtual void set_learning_rate(double lr) = 0;
  // Waits until all queued device work is done (timing points call this).
  virtual void sync() = 0;
  // Current weights and buffers under the spec's names and layouts.
  virtual model::Weights export_weights() = 0;
  // Replaces weights and buffers; every tensor of the spec must be present with its shape.
  virtual void import_weights(const model::Weights& weights) = 0;
  // (optional) Optimizer state (momentum buffers, ...) for checkpoints; default: empty, and
  // a resumed trial restarts the optimizer state.
  virtual model::Weights export_optimizer_state() { return {}; }
  // (optional) Restores what export_optimizer_state returned; default: ignores it.
  virtual void import_optimizer_state(const model::Weights& /*state*/) {}
  // (optional) Sums `values` element-wise over every rank, in place (evaluation counts, checks);
  // default: one process, so the values are already the sums.
  virtual void all_reduce_sum(std::vector<double>& /*values*/) {}
  // (optional) The effective settings (EffectiveSetting), read from what this trainer built (its
  // layers, its optimizer) rather than restated from documentation; default: none reported.
  virtual std::vector<EffectiveSetting> effective_settings() const { return {}; }
  // (optional) Seconds spent waiting for gradient communication since the trainer was built
  // (what did not overlap with computation); default: 0, one process.
  virtual double communication_time_s() const { return 0; }
};

// The rate of a dense matrix product on a device: the peak model FLOP utilization is measured
// against on a GPU (trial/peak.h; the CPU's comes from the BLAS instead).
struct DevicePeak {
  double flops_per_s = 0;  // best run: 2·n³ / seconds
  int size = 0;            // n of the n×n×n product
  int runs = 0;            // timed runs, after one warm-up
  std::string dtype;       // "float32", "tf32", "bfloat16" or "float16": what the product ran in
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Name, version, availability (and why not) and devices; callable any time (a backend may
  // probe once per process, e.g. the Python backends start their interpreter once).
  virtual BackendInfo info() const = 0;
  // (optional) info().name without anything info() may have to find out first (the registry
  // looks backends up by name); default: info().name.
  virtual std::string name() const { return info().name; }
  // (optional) Why this backend cannot build `spec`, or nullopt when it can; default: it can.
  virtual std::optional<std::string> cannot_build(const model::ModelSpec& /*spec*/) const {
    return std::nullopt;
  }
  // (optional) Whether create_trainer accepts a DistributedConfig with world_size > 1; default:
  // no, and the harness refuses such runs with Unsupported.
  virtual bool supports_distributed() const { return false; }
  // (optional) Why this backend cannot train with `settings` on this machine (device, precision,
  // channels-last, autotune, determinism, XLA), in words a report can show ("dlib has no
  // bf16"), or nullopt when it can. The suite planner asks before starting any process and the
  // trial before create_trainer, so an unsupported configuration is skipped up front rather than
  // discovered by a failing trial. Default: everything is supported.
  virtual std::optional<std::string> unsupported(const ExecutionSettings& /*settings*/) const {
    return std::nullopt;
  }
  // Builds a trainer; throws cb::InputError (bad config) or cb::Unsupported (missing feature).
  virtual std::unique_ptr<Trainer> create_trainer(const TrainerConfig& config) const = 0;
  // (optional) Times `runs` n×n×n matrix products (after a warm-up) on `device` in the dtype a
  // trial with `precision` computes in (off: float32, or TF32 where the framework lets its fp32
  // convolutions use it), synchronizing the device around each; nullopt with `why_not` set when
  // it cannot. Default: nullopt with `why_not` empty (this framework measures no peak).
  virtual std::optional<DevicePeak> measure_device_peak(const std::string& device,
                                                        MixedPrecision precision, int size,
                                                        int runs, std::string& why_not) const;
};

// One train_step and its StepResult (read_steps' last): a host synchronisation per step, for
// callers that want every step's loss now (conformance checks, tests), never the trial loop.
// CheckFailed when the trainer read back nothing for the step.
StepResult train_step_and_read(Trainer& trainer, const data::Batch& batch);

// The registry of backends compiled into this binary (and placeholders for those left out).
void register_backend(std::unique_ptr<Backend> backend);
// Every registered backend, in registration order.
const std::vector<std::unique_ptr<Backend>>& all_backends();
// The backend called `name`, or nullptr.
const Backend* find_backend(std::string_view name);
// The names of every registered backend, comma-separated (for error messages).
std::string backend_names();
// Registers the backends this build was configured with (defined in backends/builtin.cpp,
// which lives in the cifarbench_backends library, not the core).
void register_builtin_backends();

// A backend that was not compiled in: listed with the reason, never available.
class MissingBackend : public Backend {
 public:
  MissingBackend(std::string name, std::string reason)
      : name_(std::move(name)), reason_(std::move(reason)) {}
  BackendInfo info() const override;
  std::string name() const override { return name_; }
  std::unique_ptr<Trainer> create_trainer(const TrainerConfig& config) const override;

 private:
  std::string name_;
  std::string reason_;
};

}  // namespace cb::backends
