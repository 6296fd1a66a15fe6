// Fuzzes the custom-model reader (docs/models.md): any text, read as TOML or as JSON (the first
// byte chooses), must give a valid, size-bounded spec or raise InputError, never crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/error.h"
#include "model/analysis.h"
#include "model/custom_model.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const cb::model::ModelSpec spec =
        (data[0] & 1) ? cb::model::model_from_json(text, "fuzz.json", 10)
                      : cb::model::model_from_table(cb::config::parse_string(text, "fuzz.toml"),
                                                    "fuzz.toml", 10);
    // An accepted model has counted, bounded parameters and FLOPs.
    if (cb::model::parameter_count(spec) < 0 || cb::model::parameter_count(spec) > (1ll << 30)) {
      __builtin_trap();
    }
    (void)cb::model::flop_count(spec);
    (void)cb::model::model_to_json(spec);
  } catch (const cb::InputError&) {
  }
  return 0;
}
