// NVIDIA's management library, opened at run time with dlopen (no build dependency). Absent
// library, failed init or missing functions are reported as reasons, never as zeros.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cb::telemetry {

inline constexpr const char* kNvmlLibrary = "libnvidia-ml.so.1";

struct GpuDescription {
  unsigned index = 0;
  std::string name;
  std::uint64_t memory_total_bytes = 0;
};

struct GpuInventory {
  bool available = false;      // NVML loaded and initialized
  std::string reason;          // why not, when !available ("no NVIDIA driver found: ...")
  std::string driver_version;  // when available
  std::vector<GpuDescription> gpus;
};

// Lists NVIDIA GPUs through an Nvml session. `library` overrides the library name (tests use
// this).
GpuInventory list_gpus(const std::string& library = kNvmlLibrary);

// One reading of one device; an empty optional means the driver did not report it (the
// function is missing from this driver, unsupported on this device, or failed).
struct GpuReading {
  unsigned index = 0;
  std::optional<double> utilization_gpu_percent;     // time a kernel ran, over NVML's period
  std::optional<double> utilization_memory_percent;  // time device memory was read or written
  std::optional<std::uint64_t> memory_used_bytes;
  std::optional<std::uint64_t> memory_total_bytes;
  std::optional<double> power_watts;                // board power draw
  std::optional<std::uint64_t> energy_millijoules;  // counter since the driver loaded
  std::optional<unsigned> sm_clock_mhz;
  std::optional<unsigned> temperature_celsius;
};

// An open, initialized NVML session; every function is resolved by name at open time.
// Thread-safe to read from one thread while another owns the object (NVML itself is).
class Nvml {
 public:
  explicit Nvml(const std::string& library = kNvmlLibrary);
  ~Nvml();
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  // True when the library loaded, initialized and reported at least one device.
  bool available() const { return available_; }
  // Why not available: "no NVIDIA driver found (...)" or "NVML reports no GPU"; else "".
  const std::string& unavailable_reason() const { return reason_; }
  // True when the reason is the absence of a usable driver (not an empty machine).
  bool driver_missing() const { return driver_missing_; }
  // Reading functions this driver lacks (their fields stay empty in every reading).
  const std::vector<std::string>& missing_functions() const { return missing_; }
  unsigned device_count() const { return static_cast<unsigned>(devices_.size()); }
  // One reading per device, in NVML's index order; empty when !available().
  std::vector<GpuReading> read_all() const;
  // The driver's version; "" when NVML did not initialize or does not say.
  std::string driver_version() const;
  // Each device's name and memory size, in NVML's index order (what the driver reports).
  std::vector<GpuDescription> describe_devices() const;

 private:
  struct Functions;
  void* library_ = nullptr;
  std::unique_ptr<Functions> functions_;
  bool initialized_ = false;
  bool available_ = false;
  bool driver_missing_ = true;
  std::string reason_;
  std::vector<std::string> missing_;
  std::vector<void*> devices_;
};

}  // namespace cb::telemetry
