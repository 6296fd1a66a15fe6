#include "backends/python/python_trainer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

#include "backends/python/interpreter.h"
#include "core/error.h"

namespace cb::backends::python {
namespace {

constexpr std::size_t kAlign = 64;

std::size_t aligned(std::size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

nlohmann::json shape_json(const model::Shape& s) { return {s.c, s.h, s.w}; }

nlohmann::json layer_json(const model::Layer& l, const model::LayerAnalysis& a) {
  std::vector<std::string> tensors;
  for (const auto& t : a.tensors) tensors.push_back(t.name);
  return {{"name", l.name}, {"op", std::string(model::op_name(l.op))}, {"inputs", a.inputs},
          {"in_shape", shape_json(a.in)}, {"out_shape", shape_json(a.out)},
          {"out_channels", l.out_channels}, {"kernel", l.kernel}, {"stride", l.stride},
          {"padding", l.padding}, {"groups", l.groups}, {"bias", l.bias},
          {"momentum", l.momentum}, {"eps", l.eps}, {"affine", l.affine},
          {"out_features", l.out_features}, {"p", l.p}, {"scale", l.scale},
          {"tensors", tensors}};
}

nlohmann::json optimizer_json(const OptimizerConfig& o) {
  return {{"kind", o.kind == OptimizerConfig::Kind::sgd ? "sgd" : "adamw"},
          {"momentum", o.momentum}, {"nesterov", o.nesterov}, {"weight_decay", o.weight_decay},
          {"beta1", o.beta1}, {"beta2", o.beta2}, {"eps", o.eps},
          {"label_smoothing", o.label_smoothing}};
}

nlohmann::json execution_json(const ExecutionSettings& e) {
  return {{"device", e.device}, {"threads", e.threads},
          {"precision", std::string(to_string(e.precision))}, {"channels_last", e.channels_last},
          {"autotune", e.autotune}, {"deterministic", e.deterministic}, {"xla", e.xla}};
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

// A step value of the read_steps reply: a number, or "nan", "inf", "-inf" (JSON has none).
double step_value(const nlohmann::json& v, const std::string& framework) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string text = v.get<std::string>();
    if (text == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (text == "inf") return std::numeric_limits<double>::infinity();
    if (text == "-inf") return -std::numeric_limits<double>::infinity();
  }
  throw CheckFailed(
      fmt::format("{} worker: read_steps sent {} for a step value; expected a number, "
                  "\"nan\", \"inf\" or \"-inf\"",
                  framework, v.dump()));
}

}  // namespace

nlohmann::json spec_message(const model::AnalysedModel& model) {
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t i = 0; i < model.spec.layers.size(); ++i) {
    layers.push_back(layer_json(model.spec.layers[i], model.layers[i]));
  }
  return {{"name", model.spec.name}, {"input", shape_json(model.spec.input)},
          {"num_classes", model.spec.num_classes}, {"layers", layers}};
}

std::vector<TensorSlot> tensor_slots(const model::AnalysedModel& model) {
  std::vector<TensorSlot> slots;
  std::size_t offset = 0;
  for (const auto& t : model.tensors()) {
    std::int64_t n = 1;
    for (auto d : t.shape) n *= d;
    slots.push_back({t.name, t.shape, t.trainable, offset});
    offset += aligned(static_cast<std::size_t>(n) * sizeof(float));
  }
  return slots;
}

void check_weights(const std::vector<TensorSlot>& slots, const model::Weights& weights,
                   const std::string& model_name) {
  for (const auto& given : weights.tensors) {
    const auto it = std::find_if(slots.begin(), slots.end(),
                                 [&](const TensorSlot& s) { return s.name == given.name; });
    if (it == slots.end()) {
      throw InputError(fmt::format("weights: tensor '{}' is not part of model '{}'", given.name, model_name));
    }
    if (given.tensor.shape != it->shape ||
        static_cast<std::int64_t>(given.tensor.values.size()) != given.tensor.numel()) {
      throw InputError(fmt::format("weights: tensor '{}' has shape {} ({} values), model '{}' expects {}",
                                   given.name, shape_text(given.tensor.shape),
                                   given.tensor.values.size(), model_name, shape_text(it->shape)));
    }
  }
  for (const auto& s : slots) {
    const model::NamedTensor* t = weights.find(s.name);
    if (!t) throw InputError(fmt::format("weights: tensor '{}' of model '{}' is missing", s.name, model_name));
  }
}

PythonTrainer::PythonTrainer(const std::string& framework, const std::string& interpreter,
                             const TrainerConfig& config, std::chrono::seconds create_timeout,
                             std::chrono::seconds op_timeout)
    : framework_(framework), model_(config.model), slots_(tensor_slots(*config.model)),
      op_timeout_(op_timeout), optimizer_kind_(config.optimizer.kind) {
  check_weights(slots_, *config.initial_weights, model_->spec.name);
  worker_ = std::make_unique<WorkerProcess>(interpreter, package_dir(),
                                            fmt::format("{} worker ({})", framework, interpreter));
  write_tensors(slots_, *config.initial_weights);
  const int threads = config.execution.threads > 0
                          ? config.execution.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  nlohmann::json create = {{"op", "create"}, {"framework", framework},
                           {"spec", spec_message(*model_)}, {"tensors", slots_json(slots_)},
                           {"optimizer", optimizer_json(config.optimizer)},
                           {"execution", execution_json(config.execution)},
                           {"threads", threads}, {"seed", config.seed},
                           {"compile", framework == "torch-py-compile"}};
  const nlohmann::json reply = worker_->request(create, create_timeout);
  layout_ = reply.value("input_layout", "nchw") == "nhwc" ? data::Layout::nhwc : data::Layout::nchw;
  parameters_ = reply.value("parameter_count", std::int64_t{0});
  compile_time_s_ = reply.value("compile_time_s", 0.0);
  has_optimizer_state_ = reply.value("optimizer_state", false);
  for (const auto& s : reply.value("effective_settings", nlohmann::json::array())) {
    settings_.push_back({s.at(0).get<std::string>(), s.at(1).get<std::string>()});
  }
}

nlohmann::json slots_json(const std::vector<TensorSlot>& slots) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : slots) {
    out.push_back({{"name", s.name}, {"shape", s.shape}, {"trainable", s.trainable}, {"offset", s.offset}});
  }
  return out;
}

std::size_t slots_end(const std::vector<TensorSlot>& slots) {
  std::size_t end = 0;
  for (const auto& s : slots) {
    std::size_t n = 1;
    for (auto d : s.shape) n *= static_cast<std::size_t>(d);
    end = std::max(end, s.offset + n * sizeof(float));
  }
  return end;
}

void PythonTrainer::write_tensors(const std::vector<TensorSlot>& slots, const model::Weights& weights) {
  std::byte* shm = worker_->shared(slots_end(slots));
  for (const auto& s : slots) {
    const auto& values = weights.find(s.name)->tensor.values;
    std::memcpy(shm + s.offset, values.data(), values.size() * sizeof(float));
  }
}

model::Weights PythonTrainer::read_tensors(const std::vector<TensorSlot>& slots) {
  model::Weights out;
  for (const auto& s : slots) {
    model::NamedTensor t;
    t.name = s.name;
    t.trainable = s.trainable;
    t.tensor.shape = s.shape;
    t.tensor.values.resize(static_cast<std::size_t>(t.tensor.numel()));
    std::memcpy(t.tensor.values.data(), worker_->shared() + s.offset, t.tensor.values.size() * sizeof(float));
    out.tensors.push_back(std::move(t));
  }
  return out;
}

std::vector<TensorSlot> PythonTrainer::optimizer_slots() const {
  std::vector<TensorSlot> out;
  std::size_t offset = 0;
  auto add = [&](const std::string& name, const std::vector<std::int64_t>& shape) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    out.push_back({name, shape, false, offset});
    offset += aligned(static_cast<std::size_t>(n) * sizeof(float));
  };
  for (const auto& s : slots_) {
    if (!s.trainable) continue;
    if (optimizer_kind_ == OptimizerConfig::Kind::sgd) {
      add(s.name + ".momentum_buffer", s.shape);
    } else {
      add(s.name + ".exp_avg", s.shape);
      add(s.name + ".exp_avg_sq", s.shape);
    }
  }
  add("optimizer.step", {1});
  return out;
}

nlohmann::json PythonTrainer::put_batch(const data::Batch& batch, std::size_t extra,
                                        std::size_t* extra_offset) {
  const model::Shape& in = model_->spec.input;
  if (batch.precision != data::Precision::float32) {
    throw InputError(fmt::format("{}: batches must be float32 (normalized by the harness)", framework_));
  }
  if (batch.layout != layout_) {
    throw InputError(fmt::format("{}: batches must be {} (input_layout() says so)", framework_,
                                 data::to_string(layout_)));
  }
  if (batch.n <= 0 || batch.c != in.c || batch.h != in.h || batch.w != in.w ||
      static_cast<std::int64_t>(batch.data.size()) != batch.numel() ||
      static_cast<int>(batch.labels.size()) != batch.n) {
    throw InputError(fmt::format("{}: batch of {}×{}×{}×{} ({} values, {} labels) does not match "
                                 "the model input {}×{}×{}", framework_, batch.n, batch.c, batch.h,
                                 batch.w, batch.data.size(), batch.labels.size(), in.c, in.h, in.w));
  }
  for (const auto label : batch.labels) {
    if (label < 0 || label >= model_->spec.num_classes) {
      throw InputError(fmt::format("{}: label {} outside [0, {})", framework_, label, model_->spec.num_classes));
    }
  }
  const std::size_t x_bytes = batch.data.size() * sizeof(float);
  const std::size_t y_offset = aligned(x_bytes);
  const std::size_t end = aligned(y_offset + batch.labels.size() * sizeof(std::int64_t));
  std::byte* shm = worker_->shared(end + extra);
  std::memcpy(shm, batch.data.data(), x_bytes);
  std::memcpy(shm + y_offset, batch.labels.data(), batch.labels.size() * sizeof(std::int64_t));
  if (extra_offset) *extra_offset = end;
  const nlohmann::json sample = layout_ == data::Layout::nchw
                                    ? nlohmann::json{batch.c, batch.h, batch.w}
                                    : nlohmann::json{batch.h, batch.w, batch.c};
  return {{"n", batch.n}, {"sample_shape", sample}, {"x_offset", 0}, {"y_offset", y_offset}};
}

void PythonTrainer::train_step(const data::Batch& batch) {
  if (!learning_rate_set_) throw CheckFailed(framework_ + " trainer: train_step before set_learning_rate");
  nlohmann::json request = put_batch(batch);
  request["op"] = "train_step";
  const nlohmann::json reply = worker_->request(request, op_timeout_);
  compile_time_s_ = reply.value("compile_time_s", compile_time_s_);  // jax, keras: first use
  ++unread_;
}

std::vector<StepResult> PythonTrainer::read_steps() {
  if (unread_ == 0) return {};
  const nlohmann::json reply = worker_->request({{"op", "read_steps"}}, op_timeout_);
  const nlohmann::json& loss = reply.at("loss");
  const nlohmann::json& accuracy = reply.at("accuracy");
  if (!loss.is_array() || !accuracy.is_array() || loss.size() != unread_ ||
      accuracy.size() != unread_) {
    throw CheckFailed(
        fmt::format("{} worker: read_steps answered {} losses and {} accuracies for {} steps",
                    framework_, loss.size(), accuracy.size(), unread_));
  }
  std::vector<StepResult> read(unread_);
  for (std::size_t i = 0; i < unread_; ++i) {
    read[i] = {step_value(loss[i], framework_), step_value(accuracy[i], framework_)};
  }
  unread_ = 0;
  return read;
}

void PythonTrainer::empty_step(const data::Batch& batch) {
  nlohmann::json request = put_batch(batch);
  request["op"] = "noop";
  worker_->request(request, op_timeout_);
}

EvalResult PythonTrainer::evaluate(const data::Batch& batch) {
  nlohmann::json request = put_batch(batch);
  request["op"] = "evaluate";
  const nlohmann::json reply = worker_->request(request, op_timeout_);
  compile_time_s_ = reply.value("compile_time_s", compile_time_s_);
  return {reply.at("correct").get<std::int64_t>(), reply.at("loss_sum").get<double>(),
          reply.at("count").get<std::int64_t>()};
}

std::vector<float> PythonTrainer::logits(const data::Batch& batch) {
  const auto count = static_cast<std::size_t>(batch.n) * static_cast<std::size_t>(model_->spec.num_classes);
  std::size_t out_offset = 0;
  nlohmann::json request = put_batch(batch, count * sizeof(float), &out_offset);
  request["op"] = "logits";
  request["out_offset"] = out_offset;
  worker_->request(request, op_timeout_);
  std::vector<float> out(count);
  std::memcpy(out.data(), worker_->shared() + out_offset, count * sizeof(float));
  return out;
}

void PythonTrainer::set_learning_rate(double lr) {
  if (!std::isfinite(lr) || lr < 0) {
    throw InputError(fmt::format("learning rate {}: expected a finite value ≥ 0", lr));
  }
  worker_->request({{"op", "set_learning_rate"}, {"lr", lr}}, op_timeout_);
  learning_rate_set_ = true;
}

void PythonTrainer::sync() { worker_->request({{"op", "sync"}}, op_timeout_); }

model::Weights PythonTrainer::export_weights() {
  worker_->shared(slots_end(slots_));
  worker_->request({{"op", "export_weights"}, {"tensors", slots_json(slots_)}}, op_timeout_);
  return read_tensors(slots_);
}

void PythonTrainer::import_weights(const model::Weights& weights) {
  check_weights(slots_, weights, model_->spec.name);
  write_tensors(slots_, weights);
  worker_->request({{"op", "import_weights"}, {"tensors", slots_json(slots_)}}, op_timeout_);
}

model::Weights PythonTrainer::export_optimizer_state() {
  if (!has_optimizer_state_) return {};
  const auto slots = optimizer_slots();
  worker_->shared(slots_end(slots));
  worker_->request({{"op", "export_optimizer_state"}, {"tensors", slots_json(slots)}}, op_timeout_);
  return read_tensors(slots);
}

void PythonTrainer::import_optimizer_state(const model::Weights& state) {
  if (!has_optimizer_state_ || state.tensors.empty()) return;
  const auto slots = optimizer_slots();
  check_weights(slots, state, model_->spec.name + " (optimizer state)");
  write_tensors(slots, state);
  worker_->request({{"op", "import_optimizer_state"}, {"tensors", slots_json(slots)}}, op_timeout_);
}

}  // namespace cb::backends::python
