// Fuzzes the CIFAR binary record parser: any bytes must parse or raise InputError, never crash.
// The first byte picks the format (CIFAR-10 with 1-256 classes, or CIFAR-100 fine/coarse).
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "data/cifar_binary.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t selector = data[0];
  cb::data::CifarRecordFormat format;
  if (selector & 0x80) {
    format = {{20, 100}, (selector & 1) ? 1 : 0};
  } else {
    format = {{(selector & 0x7f) + 1}, 0};
  }
  cb::data::Split split;
  try {
    cb::data::parse_cifar_records(data + 1, size - 1, "fuzz.bin", format, split);
    // A successful parse must account for every byte and keep labels in range.
    if (static_cast<std::size_t>(split.count) * format.record_bytes() != size - 1) __builtin_trap();
    for (const auto label : split.labels) {
      if (label < 0 || label >= format.label_counts[static_cast<std::size_t>(format.label_kept)])
        __builtin_trap();
    }
  } catch (const cb::InputError&) {
  }
  return 0;
}
