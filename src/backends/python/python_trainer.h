// A Trainer whose math runs in a Python worker (worker_process.h): every backend.h operation is
// one request; batches and weights go through the shared region. Private to the Python backends.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backends/backend.h"
#include "backends/python/worker_process.h"

namespace cb::backends::python {

// The create request's description of the analysed spec (every layer with its resolved inputs,
// shapes and tensor names): what the worker builds from.
nlohmann::json spec_message(const model::AnalysedModel& model);

// A tensor's place in the shared region.
struct TensorSlot {
  std::string name;
  std::vector<std::int64_t> shape;
  bool trainable = true;
  std::size_t offset = 0;  // bytes
};
// The slots as the requests' "tensors" array, and the byte just past the last one.
nlohmann::json slots_json(const std::vector<TensorSlot>& slots);
std::size_t slots_end(const std::vector<TensorSlot>& slots);
// The analysed model's tensors laid out one after another (float32, 64-byte aligned).
std::vector<TensorSlot> tensor_slots(const model::AnalysedModel& model);
// Checks `weights` against the slots (every tensor, by name and shape, nothing extra): InputError
// naming the tensor otherwise.
void check_weights(const std::vector<TensorSlot>& slots, const model::Weights& weights,
                   const std::string& model_name);

class PythonTrainer final : public Trainer {
 public:
  // Starts the worker and sends "create" (waits up to `create_timeout`).
  PythonTrainer(const std::string& framework, const std::string& interpreter,
                const TrainerConfig& config, std::chrono::seconds create_timeout,
                std::chrono::seconds op_timeout);

  data::Layout input_layout() const override { return layout_; }
  std::int64_t parameter_count() const override { return parameters_; }
  void train_step(const data::Batch& batch) override;
  std::vector<StepResult> read_steps() override;
  EvalResult evaluate(const data::Batch& batch) override;
  std::vector<float> logits(const data::Batch& batch) override;
  void set_learning_rate(double lr) override;
  void sync() override;
  model::Weights export_weights() override;
  void import_weights(const model::Weights& weights) override;
  // torch-py: the C++ torch backend's names and layout; jax, keras: none (a resumed trial
  // restarts their optimizer state, backend.h's default).
  model::Weights export_optimizer_state() override;
  void import_optimizer_state(const model::Weights& state) override;
  std::vector<EffectiveSetting> effective_settings() const override { return settings_; }

  // Seconds the worker spent compiling (torch.compile at create; jax.jit and tf.function on a
  // batch shape's first use, as their replies report); 0 when nothing is compiled.
  double compile_time_s() const { return compile_time_s_; }
  // An empty step: the batch is copied into shared memory and the worker only answers (the
  // protocol's cost, bench/python_protocol.cpp).
  void empty_step(const data::Batch& batch);
  WorkerProcess& worker() { return *worker_; }

 private:
  // Copies the batch into the shared region; the request's batch fields. `extra` bytes after it.
  nlohmann::json put_batch(const data::Batch& batch, std::size_t extra = 0, std::size_t* extra_offset = nullptr);
  // Copies every tensor of `weights` (checked) into its slot of the shared region.
  void write_tensors(const std::vector<TensorSlot>& slots, const model::Weights& weights);
  // The tensors of `slots` as the worker left them in the shared region.
  model::Weights read_tensors(const std::vector<TensorSlot>& slots);
  // The optimizer state's tensors under the C++ torch backend's names (docs/backends/python.md).
  std::vector<TensorSlot> optimizer_slots() const;

  std::string framework_;
  std::shared_ptr<const model::AnalysedModel> model_;
  std::unique_ptr<WorkerProcess> worker_;
  std::vector<TensorSlot> slots_;
  std::chrono::seconds op_timeout_;
  data::Layout layout_ = data::Layout::nchw;
  std::int64_t parameters_ = 0;
  std::vector<EffectiveSetting> settings_;
  double compile_time_s_ = 0;
  // Steps the worker has run since the last read_steps. The worker keeps their values where the
  // framework computed them and sends them all on read_steps: a step's reply carries none, so
  // answering it never waits for the device.
  std::size_t unread_ = 0;
  bool learning_rate_set_ = false;
  OptimizerConfig::Kind optimizer_kind_;
  bool has_optimizer_state_ = false;
};

}  // namespace cb::backends::python
