// The dlib backend: maps a spec onto one of this build's compile-time network types (checking
// that every layer, channel count, stride and padding agrees) and trains it on dlib's own CPU
// kernels with the recipe's optimizer and PyTorch's batch-norm conventions.
#include "backends/dlib/dlib_backend.h"

#include <dlib/revision.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "backends/dlib/blas_threads.h"
#include "backends/dlib/network_types.h"
#include "core/error.h"

namespace cb::backends {
namespace {
using dlib_backend::NetworkType;

std::string type_names() {
  std::vector<std::string> names;
  for (const auto& t : dlib_backend::network_types()) names.push_back(t.zoo_name);
  return fmt::format("{}", fmt::join(names, ", "));
}

// The network type for `spec`, or the reason there is none. A spec is matched by its layers:
// the type of the same name first, otherwise any type with the same layer list (model files).
const NetworkType* find_type(const model::ModelSpec& spec, std::string& why_not) {
  std::vector<dlib_backend::LayerSignature> wanted;
  try {
    wanted = dlib_backend::spec_signature(spec);
  } catch (const Unsupported& e) {
    why_not = e.what();
    return nullptr;
  }
  for (const auto& t : dlib_backend::network_types()) {
    if (t.zoo_name != spec.name) continue;
    if (auto diff = dlib_backend::signature_difference(wanted, t.signature(), t.zoo_name)) {
      why_not = fmt::format("model '{}' differs from dlib's compile-time {} type: {}", spec.name,
                            t.zoo_name, *diff);
      return nullptr;
    }
    return &t;
  }
  for (const auto& t : dlib_backend::network_types()) {
    if (!dlib_backend::signature_difference(wanted, t.signature(), t.zoo_name)) return &t;
  }
  why_not = fmt::format(
      "dlib has no compile-time network type for {} in this build (dlib "
      "networks are C++ types; this build has {})",
      spec.name, type_names());
  return nullptr;
}

class DlibBackend final : public Backend {
 public:
  BackendInfo info() const override {
    BackendInfo info;
    info.name = "dlib";
    info.version =
        fmt::format("{}.{}.{}", DLIB_MAJOR_VERSION, DLIB_MINOR_VERSION, DLIB_PATCH_VERSION);
    info.available = true;
    info.devices.push_back(
        {"cpu", fmt::format("CPU: dlib's own kernels, BLAS {}", dlib_backend::blas_description())});
    return info;
  }

  std::optional<std::string> cannot_build(const model::ModelSpec& spec) const override {
    std::string why_not;
    if (find_type(spec, why_not) == nullptr) return why_not;
    return std::nullopt;
  }

  // dlib computes in float32 on NCHW tensors on the CPU (device ids are checked in
  // create_trainer); autotune and determinism need nothing (its CPU kernels are deterministic).
  std::optional<std::string> unsupported(const ExecutionSettings& settings) const override {
    if (settings.precision != MixedPrecision::off) {
      return fmt::format("dlib has no {0} (precision = {0}): dlib computes in float32 only",
                         to_string(settings.precision));
    }
    if (settings.channels_last) {
      return "dlib has no channels_last (channels_last = true): dlib's tensors are NCHW only";
    }
    if (settings.xla) return "dlib has no xla (xla = true): XLA is TensorFlow's compiler";
    return std::nullopt;
  }

  std::unique_ptr<Trainer> create_trainer(const TrainerConfig& config) const override {
    if (config.model == nullptr || config.initial_weights == nullptr) {
      throw InputError("dlib: a trainer needs a model and its initial weights");
    }
    if (config.execution.device != "cpu") {
      throw InputError(
          fmt::format("dlib: device '{}' is not available; this build of dlib runs "
                      "on: cpu (it was built without CUDA)",
                      config.execution.device));
    }
    if (config.execution.threads < 0) {
      throw InputError(
          fmt::format("dlib: threads = {}: expected 0 (every core) or more", config.execution.threads));
    }
    if (auto why = unsupported(config.execution)) throw Unsupported(*why);
    std::string why_not;
    const NetworkType* type = find_type(config.model->spec, why_not);
    if (type == nullptr) throw Unsupported("dlib: " + why_not);
    return type->create(config);
  }
};
}  // namespace

std::unique_ptr<Backend> make_dlib_backend() { return std::make_unique<DlibBackend>(); }

std::vector<std::string> dlib_supported_models() {
  std::vector<std::string> names;
  for (const auto& t : dlib_backend::network_types()) names.push_back(t.zoo_name);
  return names;
}

}  // namespace cb::backends
