#include "backends/dlib/native_loop.h"

#include <fmt/format.h>

#include "backends/dlib/layer_signature.h"
#include "backends/dlib/network_types.h"
#include "core/error.h"

namespace cb::backends::dlib_backend {

std::unique_ptr<NativeLoop> make_native_loop(const TrainerConfig& config) {
  if (config.model == nullptr || config.initial_weights == nullptr) {
    throw InputError("dlib native loop: needs a model and its initial weights");
  }
  const model::ModelSpec& spec = config.model->spec;
  using Make = std::unique_ptr<NativeLoop> (*)(const TrainerConfig&);
  Make make = nullptr;
  if (spec.name == "simple-cnn") make = &simple_cnn_native_loop;
  if (spec.name == "resnet20") make = &resnet20_native_loop;
  if (make == nullptr) {
    throw Unsupported(fmt::format(
        "dlib native loop: model '{}' has none in this build (simple-cnn and resnet20 have one)",
        spec.name));
  }
  // The same check the backend makes: the spec must be exactly the compile-time type.
  for (const auto& t : network_types()) {
    if (t.zoo_name != spec.name) continue;
    if (auto diff = signature_difference(spec_signature(spec), t.signature(), t.zoo_name)) {
      throw Unsupported(fmt::format("dlib native loop: {}", *diff));
    }
  }
  return make(config);
}

}  // namespace cb::backends::dlib_backend
