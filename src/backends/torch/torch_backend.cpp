// The LibTorch backend: a spec built from ATen ops (spec_network.h), PyTorch's SGD and AdamW
// written out as backend.h defines them (optimizer.h), and the CUDA options of a CUDA build of LibTorch.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <chrono>
#include <cmath>
#include <optional>
#include <thread>

#include "backends/backend.h"
#include "backends/torch/data_parallel.h"
#include "backends/torch/optimizer.h"
#include "backends/torch/spec_network.h"
#include "core/error.h"

namespace cb::backends {
namespace torch_backend {
namespace {

constexpr const char* kDeviceChoices = "'cpu' or 'cuda:N'";

// "cuda:N", N decimal digits.
bool is_cuda_id(const std::string& id) {
  return id.rfind("cuda:", 0) == 0 && id.size() > 5 &&
         id.find_first_not_of("0123456789", 5) == std::string::npos;
}

std::string no_cuda_text(const std::string& id) {
  return fmt::format("device '{}': this LibTorch ({}) has no CUDA device available; use 'cpu'",
                     id, TORCH_VERSION);
}

// "cpu" or "cuda:N"; anything else is refused by name.
at::Device parse_device(const std::string& id) {
  if (id == "cpu") return at::Device(at::kCPU);
  if (is_cuda_id(id)) {
    const int index = std::stoi(id.substr(5));
    if (!torch::cuda::is_available()) throw Unsupported(no_cuda_text(id));
    if (index >= static_cast<int>(torch::cuda::device_count())) {
      throw InputError(fmt::format("device '{}': only {} CUDA device(s) are visible", id,
                                   torch::cuda::device_count()));
    }
    return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw InputError(fmt::format("device '{}': expected {}", id, kDeviceChoices));
}

// Waits for the device's queued work (nothing to wait for on the CPU).
void synchronize(const at::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

std::string precision_name(MixedPrecision p) {
  return p == MixedPrecision::fp16 ? "fp16" : p == MixedPrecision::bf16 ? "bf16" : "off";
}

// Autocast to the GPU dtype for the scope of a forward pass (torch.autocast("cuda", dtype)).
class AutocastScope {
 public:
  explicit AutocastScope(MixedPrecision precision) : enabled_(precision != MixedPrecision::off) {
    if (!enabled_) return;
    at::autocast::set_autocast_gpu_dtype(precision == MixedPrecision::fp16 ? at::kHalf
                                                                           : at::kBFloat16);
    at::autocast::set_enabled(true);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!enabled_) return;
    at::autocast::set_enabled(false);
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
};

class TorchTrainer final : public Trainer {
 public:
  explicit TorchTrainer(const TrainerConfig& config)
      : device_(parse_device(config.execution.device)),
        label_smoothing_(config.optimizer.label_smoothing),
        precision_(config.execution.precision),
        channels_last_(config.execution.channels_last),
        network_(config.model, at::TensorOptions().dtype(at::kFloat).device(device_)),
        model_(config.model) {
    network_.load(*config.initial_weights);
    if (channels_last_) network_.set_channels_last(true);
    params_ = network_.trainable();
    optimizer_.emplace(config.optimizer, params_);
    if (precision_ == MixedPrecision::fp16) {
      loss_scale_ = at::full({1}, 65536.0, at::TensorOptions().dtype(at::kFloat).device(device_));
      growth_tracker_ = at::zeros({1}, at::TensorOptions().dtype(at::kInt).device(device_));
    }
    num_classes_ = config.model->spec.num_classes;
    input_ = config.model->spec.input;
    if (config.distributed && config.distributed->world_size > 1) {
      data_parallel_ = std::make_unique<DataParallelGroup>(*config.distributed, device_, params_);
    }
  }

  data::Layout input_layout() const override { return data::Layout::nchw; }

  std::int64_t parameter_count() const override { return network_.trainable_count(); }

  // What forward() passes to at::batch_norm and at::conv2d (the spec's values, layer by layer),
  // and what apply_optimizer and the loss do.
  std::vector<EffectiveSetting> effective_settings() const override {
    std::vector<double> eps, momentum, padding;
    for (const auto& l : model_->spec.layers) {
      if (l.op == model::Op::batch_norm) eps.push_back(l.eps), momentum.push_back(l.momentum);
      if (l.op == model::Op::conv2d) padding.push_back(l.padding);
    }
    return {{"batch_norm.eps", distinct_values(eps)},
            {"batch_norm.momentum", distinct_values(momentum) + " (running = (1 - m) running + m batch, at::batch_norm)"},
            {"batch_norm.running_var", "unbiased batch variance (at::batch_norm)"},
            {"weight_decay.applies_to", fmt::format("every trainable tensor, biases and batch-norm included ({} of {})",
                                                    params_.size(), params_.size())},
            {"conv.padding", distinct_values(padding) + " (zeros, symmetric)"},
            {"loss.reduction", "mean over the batch (at::cross_entropy_loss, Reduction::Mean)"}};
  }

  void train_step(const data::Batch& batch) override {
    if (!learning_rate_) {
      throw CheckFailed("torch trainer: train_step before set_learning_rate");
    }
    const auto [x, labels] = to_tensors(batch);
    at::Tensor logits;
    {
      AutocastScope autocast(precision_);
      logits = network_.forward(x, /*training=*/true);
    }
    logits = logits.to(at::kFloat);
    const at::Tensor loss = at::cross_entropy_loss(logits, labels, {}, at::Reduction::Mean, -100,
                                                   label_smoothing_);
    for (auto& p : params_) p.mutable_grad().reset();  // set_to_none: no memset, no accumulate
    if (data_parallel_) data_parallel_->prepare_step();
    if (precision_ == MixedPrecision::fp16) {
      (loss * loss_scale_).backward();
      if (data_parallel_) data_parallel_->finish_step();
      optimizer_->step_unless(params_, *learning_rate_, unscale_gradients());
    } else {
      loss.backward();
      if (data_parallel_) data_parallel_->finish_step();
      optimizer_->step(params_, *learning_rate_);
    }
    at::NoGradGuard no_grad;  // the step's values stay on the device until read_steps
    unread_loss_.push_back(loss.detach());
    unread_correct_.push_back(logits.argmax(1).eq(labels).sum());
    unread_images_.push_back(batch.n);
  }

  // Every unread step's loss and correct count in one device tensor, copied to the host at once:
  // the one host synchronisation for all of them.
  std::vector<StepResult> read_steps() override {
    if (unread_loss_.empty()) return {};
    at::NoGradGuard no_grad;
    const at::Tensor host = at::stack({at::stack(unread_loss_).to(at::kDouble),
                                       at::stack(unread_correct_).to(at::kDouble)})
                                .to(at::kCPU)
                                .contiguous();
    const double* loss = host.data_ptr<double>();
    const double* correct = loss + host.size(1);
    std::vector<StepResult> read(unread_images_.size());
    for (std::size_t i = 0; i < read.size(); ++i) {
      read[i] = {loss[i], correct[i] / static_cast<double>(unread_images_[i])};
    }
    unread_loss_.clear();
    unread_correct_.clear();
    unread_images_.clear();
    return read;
  }

  EvalResult evaluate(const data::Batch& batch) override {
    c10::InferenceMode inference;
    const auto [x, labels] = to_tensors(batch);
    at::Tensor logits;
    {
      AutocastScope autocast(precision_);
      logits = network_.forward(x, /*training=*/false);
    }
    logits = logits.to(at::kFloat);
    EvalResult r;
    r.loss_sum =
        at::cross_entropy_loss(logits, labels, {}, at::Reduction::Sum, -100, 0.0).item<double>();
    r.correct = logits.argmax(1).eq(labels).sum().item<std::int64_t>();
    r.count = batch.n;
    return r;
  }

  std::vector<float> logits(const data::Batch& batch) override {
    c10::InferenceMode inference;
    const auto [x, labels] = to_tensors(batch);
    at::Tensor out;
    {
      AutocastScope autocast(precision_);
      out = network_.forward(x, /*training=*/false);
    }
    out = out.to(at::kCPU, at::kFloat).contiguous();
    return {out.data_ptr<float>(), out.data_ptr<float>() + out.numel()};
  }

  void all_reduce_sum(std::vector<double>& values) override {
    if (data_parallel_) data_parallel_->all_reduce_sum(values);
  }

  double communication_time_s() const override {
    return data_parallel_ ? data_parallel_->communication_time_s() : 0.0;
  }

  void set_learning_rate(double lr) override {
    if (!std::isfinite(lr) || lr < 0) {
      throw InputError(fmt::format("learning rate {}: expected a finite value ≥ 0", lr));
    }
    learning_rate_ = lr;
  }

  void sync() override {
    synchronize(device_);
  }

  model::Weights export_weights() override { return network_.save(); }

  void import_weights(const model::Weights& weights) override {
    network_.load(weights);
  }

  model::Weights export_optimizer_state() override {
    model::Weights state;
    auto add = [&](const std::string& name, const at::Tensor& t) {
      const at::Tensor host = t.detach().to(at::kCPU, at::kFloat).contiguous();
      model::NamedTensor nt;
      nt.name = name;
      nt.trainable = false;
      nt.tensor.shape.assign(host.sizes().begin(), host.sizes().end());
      nt.tensor.values.assign(host.data_ptr<float>(), host.data_ptr<float>() + host.numel());
      state.tensors.push_back(std::move(nt));
    };
    const auto names = trainable_names();
    for (std::size_t i = 0; i < params_.size(); ++i) {
      for (const auto& [suffix, tensor] : optimizer_->state(i)) add(names[i] + "." + suffix, *tensor);
    }
    add("optimizer.step", at::full({1}, static_cast<double>(optimizer_->steps()), at::kFloat));
    if (loss_scale_.defined()) add("optimizer.loss_scale", loss_scale_);
    return state;
  }

  void import_optimizer_state(const model::Weights& state) override {
    at::NoGradGuard no_grad;
    auto load = [&](const std::string& name, at::Tensor& into) {
      const model::NamedTensor* t = state.find(name);
      if (!t) throw InputError(fmt::format("optimizer state: tensor '{}' is missing", name));
      if (at::IntArrayRef(t->tensor.shape) != into.sizes() ||
          static_cast<std::int64_t>(t->tensor.values.size()) != into.numel()) {
        throw InputError(fmt::format("optimizer state: tensor '{}' has the wrong shape", name));
      }
      into.copy_(at::from_blob(const_cast<float*>(t->tensor.values.data()), t->tensor.shape,
                               at::TensorOptions().dtype(at::kFloat)));
    };
    const auto names = trainable_names();
    for (std::size_t i = 0; i < params_.size(); ++i) {
      for (const auto& [suffix, tensor] : optimizer_->state(i)) load(names[i] + "." + suffix, *tensor);
    }
    at::Tensor step = at::zeros({1}, at::kFloat);
    load("optimizer.step", step);
    optimizer_->set_steps(static_cast<std::int64_t>(step.item<float>()));
    if (loss_scale_.defined() && state.find("optimizer.loss_scale")) {
      load("optimizer.loss_scale", loss_scale_);
    }
  }

 private:
  std::vector<std::string> trainable_names() const {
    std::vector<std::string> names;
    for (const auto& t : network_.tensors()) {
      if (t.trainable) names.push_back(t.name);
    }
    return names;
  }

  // Checks the batch against the spec and wraps it (no copy on CPU).
  std::pair<at::Tensor, at::Tensor> to_tensors(const data::Batch& batch) const {
    if (batch.precision != data::Precision::float32) {
      throw InputError("torch backend: batches must be float32 (normalized by the harness)");
    }
    if (batch.layout != data::Layout::nchw) {
      throw InputError("torch backend: batches must be NCHW (input_layout() says so)");
    }
    if (batch.n <= 0 || batch.c != input_.c || batch.h != input_.h || batch.w != input_.w) {
      throw InputError(fmt::format("torch backend: batch of {}×{}×{}×{} does not match the "
                                   "model input {}×{}×{}",
                                   batch.n, batch.c, batch.h, batch.w, input_.c, input_.h,
                                   input_.w));
    }
    if (static_cast<std::int64_t>(batch.data.size()) != batch.numel() ||
        static_cast<int>(batch.labels.size()) != batch.n) {
      throw InputError("torch backend: batch data or labels do not match n×c×h×w");
    }
    for (const auto label : batch.labels) {
      if (label < 0 || label >= num_classes_) {
        throw InputError(fmt::format("torch backend: label {} outside [0, {})", label,
                                     num_classes_));
      }
    }
    at::Tensor x = at::from_blob(const_cast<float*>(batch.data.data()),
                                 {batch.n, batch.c, batch.h, batch.w}, at::kFloat);
    at::Tensor y = at::from_blob(const_cast<std::int64_t*>(batch.labels.data()), {batch.n},
                                 at::kLong);
    if (device_.is_cuda()) {
      x = x.to(device_);
      y = y.to(device_);
    }
    if (channels_last_) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    return {x, y};
  }

  // GradScaler's unscale-and-update: the overflow flag (nonzero when a gradient is inf or NaN),
  // left on the device for step_unless; the scale's update stays on the device too.
  at::Tensor unscale_gradients() {
    std::vector<at::Tensor> grads;
    for (auto& p : params_) {
      if (p.grad().defined()) grads.push_back(p.grad());
    }
    at::Tensor found_inf = at::zeros({1}, loss_scale_.options());
    at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf, loss_scale_.reciprocal());
    at::_amp_update_scale_(loss_scale_, growth_tracker_, found_inf, 2.0, 0.5, 2000);
    return found_inf;
  }

  at::Device device_;
  double label_smoothing_;
  MixedPrecision precision_;
  bool channels_last_;
  SpecNetwork network_;
  std::vector<at::Tensor> params_;
  std::optional<SpecOptimizer> optimizer_;  // made once params_ exist
  std::optional<double> learning_rate_;
  at::Tensor loss_scale_, growth_tracker_;  // fp16 only
  std::vector<at::Tensor> unread_loss_, unread_correct_;  // per step, on the device, until read_steps
  std::vector<std::int64_t> unread_images_;
  std::shared_ptr<const model::AnalysedModel> model_;
  int num_classes_ = 0;
  model::Shape input_;
  std::unique_ptr<DataParallelGroup> data_parallel_;  // world size > 1 only
};

// What this build or machine cannot do with `settings`, naming the option; nullopt when it can.
std::optional<std::string> unsupported_settings(const ExecutionSettings& settings) {
  const bool cuda = settings.device.rfind("cuda", 0) == 0;
  if (settings.precision != MixedPrecision::off && !cuda) {
    return fmt::format("--precision {}: mixed precision needs a CUDA device; this trainer is on "
                       "'{}'",
                       precision_name(settings.precision), settings.device);
  }
  if (settings.autotune && !cuda) {
    return fmt::format("--autotune: cuDNN autotuning needs a CUDA device; this trainer is on '{}'",
                       settings.device);
  }
  if (settings.xla) return "--xla: XLA is TensorFlow's compiler; the torch backend has none";
  if (is_cuda_id(settings.device) && !torch::cuda::is_available()) {
    return no_cuda_text(settings.device);
  }
  return std::nullopt;
}

// Refuses what is wrong with `config` (InputError) or what this build or machine cannot do
// (Unsupported, unsupported_settings' words), naming the option, before anything is built.
void check_config(const TrainerConfig& config) {
  if (!config.model) throw InputError("torch backend: no model given");
  if (!config.initial_weights) throw InputError("torch backend: no initial weights given");
  if (config.execution.threads < 0) {
    throw InputError(fmt::format("--threads {}: expected 0 (all cores) or more", config.execution.threads));
  }
  const auto& o = config.optimizer;
  if (o.momentum < 0 || o.weight_decay < 0 || o.label_smoothing < 0 || o.label_smoothing >= 1) {
    throw InputError("optimizer: momentum and weight decay must be ≥ 0, label smoothing in [0, 1)");
  }
  if (o.kind == OptimizerConfig::Kind::sgd && o.nesterov && o.momentum == 0) {
    throw InputError("optimizer: Nesterov momentum needs momentum > 0");
  }
  if (o.kind == OptimizerConfig::Kind::adamw &&
      (o.beta1 < 0 || o.beta1 >= 1 || o.beta2 < 0 || o.beta2 >= 1 || o.eps <= 0)) {
    throw InputError("optimizer: AdamW needs beta1 and beta2 in [0, 1) and eps > 0");
  }
  if (auto why = unsupported_settings(config.execution)) throw Unsupported(*why);
}

// Restores cuBLAS's TF32 setting when the peak measurement ends.
class Tf32CublasScope {
 public:
  explicit Tf32CublasScope(bool allow) : before_(at::globalContext().allowTF32CuBLAS()) {
    at::globalContext().setAllowTF32CuBLAS(allow);
  }
  ~Tf32CublasScope() { at::globalContext().setAllowTF32CuBLAS(before_); }
  Tf32CublasScope(const Tf32CublasScope&) = delete;
  Tf32CublasScope& operator=(const Tf32CublasScope&) = delete;

 private:
  bool before_;
};

// Best of `runs` timed torch::mm_out of two n×n matrices on `device`, after a warm-up. fp32
// trials' convolutions run in TF32 on a GPU whenever cuDNN is allowed to (LibTorch's default), so
// their peak is the product with TF32 on the same terms; mixed precision uses its half type.
DevicePeak time_matrix_products(const at::Device& device, MixedPrecision precision, int size,
                                int runs) {
  const bool tf32 = device.is_cuda() && precision == MixedPrecision::off &&
                    at::globalContext().allowTF32CuDNN();
  const Tf32CublasScope scope(tf32);
  const at::ScalarType type = precision == MixedPrecision::fp16   ? at::kHalf
                              : precision == MixedPrecision::bf16 ? at::kBFloat16
                                                                  : at::kFloat;
  c10::InferenceMode guard;
  const auto options = at::TensorOptions().device(device).dtype(type);
  const at::Tensor a = at::randn({size, size}, options), b = at::randn({size, size}, options);
  at::Tensor c = at::empty({size, size}, options);
  const char* dtype = tf32                       ? "tf32"
                      : type == at::kHalf        ? "float16"
                      : type == at::kBFloat16    ? "bfloat16"
                                                 : "float32";
  DevicePeak peak{0, size, runs, dtype};
  for (int r = -1; r < runs; ++r) {  // r = -1: warm-up (kernel selection, allocation)
    synchronize(device);
    const auto start = std::chrono::steady_clock::now();
    at::mm_out(c, a, b);
    synchronize(device);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (r >= 0 && s > 0) peak.flops_per_s = std::max(peak.flops_per_s, 2.0 * size * size * size / s);
  }
  return peak;
}

class TorchBackend final : public Backend {
 public:
  BackendInfo info() const override {
    BackendInfo info;
    info.name = "torch";
    info.version = TORCH_VERSION;
    info.available = true;
    info.devices.push_back(
        {"cpu", fmt::format("CPU ({} hardware threads)", std::thread::hardware_concurrency())});
    if (torch::cuda::is_available()) {
      for (std::size_t i = 0; i < torch::cuda::device_count(); ++i) {
        info.devices.push_back({fmt::format("cuda:{}", i), fmt::format("CUDA device {}", i)});
      }
    }
    return info;
  }

  bool supports_distributed() const override { return true; }

  std::optional<std::string> unsupported(const ExecutionSettings& settings) const override {
    return unsupported_settings(settings);
  }

  std::optional<DevicePeak> measure_device_peak(const std::string& device, MixedPrecision precision,
                                                int size, int runs,
                                                std::string& why_not) const override {
    if (size <= 0 || runs <= 0) {
      why_not = fmt::format("peak: size {} and runs {} must be positive", size, runs);
      return std::nullopt;
    }
    ExecutionSettings settings;
    settings.device = device;
    settings.precision = precision;
    if (auto why = unsupported_settings(settings)) {
      why_not = *why;
      return std::nullopt;
    }
    try {
      return time_matrix_products(parse_device(device), precision, size, runs);
    } catch (const std::exception& e) {
      why_not = e.what();
      return std::nullopt;
    }
  }

  std::unique_ptr<Trainer> create_trainer(const TrainerConfig& config) const override {
    check_config(config);
    const int threads = config.execution.threads > 0
                            ? config.execution.threads
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(threads);  // process-wide; Debian's LibTorch starts with one thread
    at::globalContext().setDeterministicAlgorithms(config.execution.deterministic, /*warn_only=*/false);
    at::globalContext().setDeterministicCuDNN(config.execution.deterministic);
    at::globalContext().setBenchmarkCuDNN(config.execution.autotune);
    // LibTorch's own random ops (dropout) follow the trial's seed, so a trial repeats exactly.
    at::manual_seed(config.seed);
    return std::make_unique<TorchTrainer>(config);
  }
};

}  // namespace
}  // namespace torch_backend

std::unique_ptr<Backend> make_torch_backend() {
  return std::make_unique<torch_backend::TorchBackend>();
}

}  // namespace cb::backends
