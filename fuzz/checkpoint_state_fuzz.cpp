// Fuzzes a checkpoint's state.json reader: any text must parse into a consistent state (its
// epoch counter equal to its epochs, numbered 1..n) or raise InputError, never crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "trial/checkpoint_state.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const cb::trial::CheckpointState s = cb::trial::parse_checkpoint_state(text, "state.json");
    if (s.epoch < 0 || static_cast<std::size_t>(s.epoch) != s.epochs.size()) __builtin_trap();
    for (std::size_t i = 0; i < s.epochs.size(); ++i) {
      if (s.epochs[i].epoch != static_cast<int>(i) + 1) __builtin_trap();
    }
  } catch (const cb::InputError&) {
  }
  return 0;
}
