// The Python backends (docs/backends/python.md): torch-py, torch-py-compile, jax and keras, one
// class parameterised by the framework; the math runs in a Python worker per trainer.
#include <fmt/format.h>

#include <thread>

#include "backends/backend.h"
#include "backends/python/interpreter.h"
#include "backends/python/python_trainer.h"
#include "core/error.h"

namespace cb::backends {
namespace python {
namespace {

bool is_cuda_id(const std::string& id) {
  return id.rfind("cuda:", 0) == 0 && id.size() > 5 &&
         id.find_first_not_of("0123456789", 5) == std::string::npos;
}

// What `framework` cannot do with `settings` whatever the machine (its own feature set).
std::optional<std::string> framework_limits(const std::string& fw, const ExecutionSettings& s) {
  const bool cuda = s.device.rfind("cuda", 0) == 0;
  if (s.precision != MixedPrecision::off && !cuda) {
    return fmt::format("--precision {}: mixed precision needs a CUDA device; this trainer is on '{}'",
                       to_string(s.precision), s.device);
  }
  if (s.autotune && !cuda) {
    return fmt::format("--autotune: cuDNN autotuning needs a CUDA device; this trainer is on '{}'", s.device);
  }
  if (fw == "keras") {
    if (s.channels_last) return std::string("--channels-last: keras trains NHWC already (it has no memory-format hint)");
    return std::nullopt;
  }
  if (s.xla) return fmt::format("--xla: XLA is TensorFlow's compiler switch; {} has none", fw);
  if (fw == "jax") {
    if (s.channels_last) return std::string("--channels-last: jax trains NHWC already (arrays have no memory format)");
    if (s.precision == MixedPrecision::fp16) return std::string("--precision fp16: the jax backend implements bf16 only (no loss scaling)");
    if (s.autotune) return std::string("--autotune: jax has no cuDNN autotuning switch");
  }
  return std::nullopt;
}

class PythonBackend final : public Backend {
 public:
  explicit PythonBackend(std::string framework) : framework_(std::move(framework)) {}

  std::string name() const override { return framework_; }

  BackendInfo info() const override {
    const Probe& p = probe(framework_);
    BackendInfo info;
    info.name = framework_;
    info.available = p.unavailable.empty();
    info.unavailable_reason = p.unavailable;
    if (info.available && framework_ == "torch-py-compile" && !p.compile) {
      info.available = false;
      info.unavailable_reason = fmt::format("PyTorch {} at {} has no torch.compile (needs PyTorch ≥ 2.0)",
                                            p.version, p.interpreter);
    }
    if (!info.available) return info;
    info.version = fmt::format("{} (Python {}, {}{})", p.version, p.python_version, p.interpreter,
                               p.note.empty() ? "" : "; " + p.note);
    info.devices.push_back({"cpu", fmt::format("CPU ({} hardware threads)", std::thread::hardware_concurrency())});
    for (int i = 0; i < p.gpus; ++i) info.devices.push_back({fmt::format("cuda:{}", i), fmt::format("CUDA device {}", i)});
    return info;
  }

  // Keras pads max pooling with zeros, the spec with -inf (python/cifarbench_worker/keras_plan.py
  // refuses the same layers).
  std::optional<std::string> cannot_build(const model::ModelSpec& spec) const override {
    if (framework_ != "keras") return std::nullopt;
    for (const auto& l : spec.layers) {
      if (l.op == model::Op::max_pool && l.padding > 0) {
        return fmt::format("max_pool '{}' with padding {}: Keras pads max pooling with zeros, the "
                           "spec with -inf", l.name, l.padding);
      }
    }
    return std::nullopt;
  }

  std::optional<std::string> unsupported(const ExecutionSettings& settings) const override {
    if (auto why = framework_limits(framework_, settings)) return why;
    const Probe& p = probe(framework_);
    if (settings.device != "cpu" && !is_cuda_id(settings.device)) {
      return fmt::format("device '{}': expected 'cpu' or 'cuda:N'", settings.device);
    }
    if (is_cuda_id(settings.device) && p.unavailable.empty() &&
        std::stoi(settings.device.substr(5)) >= p.gpus) {
      return fmt::format("device '{}': {} {} at {} sees {} CUDA device(s)", settings.device,
                         framework_, p.version, p.interpreter, p.gpus);
    }
    return std::nullopt;
  }

  std::unique_ptr<Trainer> create_trainer(const TrainerConfig& config) const override {
    if (!config.model) throw InputError(framework_ + " backend: no model given");
    if (!config.initial_weights) throw InputError(framework_ + " backend: no initial weights given");
    if (config.execution.threads < 0) {
      throw InputError(fmt::format("--threads {}: expected 0 (all cores) or more", config.execution.threads));
    }
    const BackendInfo i = info();
    if (!i.available) throw Unsupported(fmt::format("framework '{}' is not available: {}", framework_, i.unavailable_reason));
    if (auto why = unsupported(config.execution)) throw Unsupported(*why);
    const auto create_timeout = std::chrono::seconds(timeout_from_env("CIFARBENCH_PYTHON_CREATE_TIMEOUT_S", 600));
    const auto op_timeout = std::chrono::seconds(timeout_from_env("CIFARBENCH_PYTHON_TIMEOUT_S", 300));
    return std::make_unique<PythonTrainer>(framework_, probe(framework_).interpreter, config,
                                           create_timeout, op_timeout);
  }

 private:
  std::string framework_;
};

}  // namespace
}  // namespace python

std::unique_ptr<Backend> make_python_backend(const std::string& framework) {
  return std::make_unique<python::PythonBackend>(framework);
}

}  // namespace cb::backends
