// Fuzzes the .cbw weights reader (initial weights, checkpoints, imports): any bytes must decode
// to tensors whose values match their shapes, or raise InputError, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "model/weights_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const cb::model::Weights w =
        cb::model::decode_weights(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.cbw");
    for (const auto& t : w.tensors) {
      std::size_t n = 1;
      for (const auto d : t.tensor.shape) n *= static_cast<std::size_t>(d);
      if (n != t.tensor.values.size()) __builtin_trap();
    }
  } catch (const cb::InputError&) {
  }
  return 0;
}
