// NVIDIA's management library, opened at run time with dlopen (no build dependency). Absent
// library, failed init or missing functions are reported as reasons, never as zeros.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cb::telemetry {

struct GpuDescription {
  unsigned index = 0;
  std::string name;
  std::uint64_t memory_total_bytes = 0;
};

struct GpuInventory {
  bool available = false;       // NVML loaded and initialized
  std::string reason;           // why not, when !available ("no NVIDIA driver found: ...")
  std::string driver_version;   // when available
  std::vector<GpuDescription> gpus;
};

// Lists NVIDIA GPUs through NVML. `library` overrides the library name (tests use this).
GpuInventory list_gpus(const std::string& library = "libnvidia-ml.so.1");

}  // namespace cb::telemetry
