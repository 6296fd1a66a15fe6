#include "telemetry/nvml.h"

#include <dlfcn.h>

#include <fmt/format.h>

#include <type_traits>

namespace cb::telemetry {
// The NVML declarations we use, written from NVML's documented C API (nvml.h reference). The
// structs are named by Nvml::Functions, so they live outside the anonymous namespace.
namespace nvml_api {
struct nvmlMemory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
struct nvmlUtilization {
  unsigned int gpu;     // percent of the sample period a kernel was executing
  unsigned int memory;  // percent of the sample period device memory was read or written
};
}  // namespace nvml_api

namespace {
using nvml_api::nvmlMemory;
using nvml_api::nvmlUtilization;
using nvmlReturn = int;
using nvmlDevice = void*;
constexpr nvmlReturn kNvmlSuccess = 0;
constexpr int kNvmlClockSm = 1;         // nvmlClockType_t NVML_CLOCK_SM
constexpr int kNvmlTemperatureGpu = 0;  // nvmlTemperatureSensors_t NVML_TEMPERATURE_GPU

template <typename F>
F symbol(void* lib, const char* name) {
  return reinterpret_cast<F>(dlsym(lib, name));
}
}  // namespace

struct Nvml::Functions {
  nvmlReturn (*init)() = nullptr;
  nvmlReturn (*shutdown)() = nullptr;
  nvmlReturn (*get_count)(unsigned*) = nullptr;
  nvmlReturn (*get_handle)(unsigned, nvmlDevice*) = nullptr;
  nvmlReturn (*get_utilization)(nvmlDevice, nvmlUtilization*) = nullptr;
  nvmlReturn (*get_memory)(nvmlDevice, nvmlMemory*) = nullptr;
  nvmlReturn (*get_power)(nvmlDevice, unsigned*) = nullptr;             // milliwatts
  nvmlReturn (*get_energy)(nvmlDevice, unsigned long long*) = nullptr;  // millijoules
  nvmlReturn (*get_clock)(nvmlDevice, int, unsigned*) = nullptr;        // MHz
  nvmlReturn (*get_temperature)(nvmlDevice, int, unsigned*) = nullptr;  // degrees C
  // Descriptions, for list_gpus; not readings, so never listed as missing.
  nvmlReturn (*get_name)(nvmlDevice, char*, unsigned) = nullptr;
  nvmlReturn (*get_driver_version)(char*, unsigned) = nullptr;
};

Nvml::Nvml(const std::string& library) : functions_(std::make_unique<Functions>()) {
  library_ = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library_) {
    const char* err = dlerror();
    reason_ = fmt::format("no NVIDIA driver found ({} could not be loaded: {})", library,
                          err ? err : "unknown error");
    return;
  }
  Functions& f = *functions_;
  f.init = symbol<decltype(f.init)>(library_, "nvmlInit_v2");
  f.shutdown = symbol<decltype(f.shutdown)>(library_, "nvmlShutdown");
  f.get_count = symbol<decltype(f.get_count)>(library_, "nvmlDeviceGetCount_v2");
  f.get_handle = symbol<decltype(f.get_handle)>(library_, "nvmlDeviceGetHandleByIndex_v2");
  if (!f.init || !f.get_count || !f.get_handle) {
    reason_ = fmt::format(
        "no NVIDIA driver found ({} lacks nvmlInit_v2, nvmlDeviceGetCount_v2 "
        "or nvmlDeviceGetHandleByIndex_v2: driver too old)",
        library);
    return;
  }
  // Optional readings: a driver without one keeps that field empty, it is never fatal.
  auto optional = [&](auto& slot, const char* name) {
    slot = symbol<std::remove_reference_t<decltype(slot)>>(library_, name);
    if (!slot) missing_.emplace_back(name);
  };
  optional(f.get_utilization, "nvmlDeviceGetUtilizationRates");
  optional(f.get_memory, "nvmlDeviceGetMemoryInfo");
  optional(f.get_power, "nvmlDeviceGetPowerUsage");
  optional(f.get_energy, "nvmlDeviceGetTotalEnergyConsumption");
  optional(f.get_clock, "nvmlDeviceGetClockInfo");
  optional(f.get_temperature, "nvmlDeviceGetTemperature");
  f.get_name = symbol<decltype(f.get_name)>(library_, "nvmlDeviceGetName");
  f.get_driver_version =
      symbol<decltype(f.get_driver_version)>(library_, "nvmlSystemGetDriverVersion");

  if (nvmlReturn rc = f.init(); rc != kNvmlSuccess) {
    reason_ = fmt::format("no NVIDIA driver found (nvmlInit_v2 failed with code {})", rc);
    return;
  }
  initialized_ = true;
  driver_missing_ = false;
  unsigned count = 0;
  if (nvmlReturn rc = f.get_count(&count); rc != kNvmlSuccess) {
    reason_ =
        fmt::format("NVML could not count GPUs (nvmlDeviceGetCount_v2 failed with code {})", rc);
    return;
  }
  for (unsigned i = 0; i < count; ++i) {
    nvmlDevice device = nullptr;
    if (f.get_handle(i, &device) != kNvmlSuccess) {
      reason_ = fmt::format("NVML could not open GPU {} (nvmlDeviceGetHandleByIndex_v2 failed)", i);
      devices_.clear();
      return;
    }
    devices_.push_back(device);
  }
  if (devices_.empty()) {
    reason_ = "NVML reports no GPU";
    return;
  }
  available_ = true;
}

Nvml::~Nvml() {
  if (initialized_ && functions_->shutdown) functions_->shutdown();
  if (library_) dlclose(library_);
}

std::vector<GpuReading> Nvml::read_all() const {
  std::vector<GpuReading> readings;
  if (!available_) return readings;
  const Functions& f = *functions_;
  readings.reserve(devices_.size());
  for (unsigned i = 0; i < devices_.size(); ++i) {
    nvmlDevice device = devices_[i];
    GpuReading r;
    r.index = i;
    if (nvmlUtilization u{}; f.get_utilization && f.get_utilization(device, &u) == kNvmlSuccess) {
      r.utilization_gpu_percent = u.gpu;
      r.utilization_memory_percent = u.memory;
    }
    if (nvmlMemory m{}; f.get_memory && f.get_memory(device, &m) == kNvmlSuccess) {
      r.memory_used_bytes = m.used;
      r.memory_total_bytes = m.total;
    }
    if (unsigned mw = 0; f.get_power && f.get_power(device, &mw) == kNvmlSuccess)
      r.power_watts = mw / 1000.0;
    if (unsigned long long mj = 0; f.get_energy && f.get_energy(device, &mj) == kNvmlSuccess)
      r.energy_millijoules = mj;
    if (unsigned mhz = 0; f.get_clock && f.get_clock(device, kNvmlClockSm, &mhz) == kNvmlSuccess)
      r.sm_clock_mhz = mhz;
    if (unsigned c = 0;
        f.get_temperature && f.get_temperature(device, kNvmlTemperatureGpu, &c) == kNvmlSuccess)
      r.temperature_celsius = c;
    readings.push_back(r);
  }
  return readings;
}

std::string Nvml::driver_version() const {
  char buffer[256] = {};
  if (!initialized_ || !functions_->get_driver_version ||
      functions_->get_driver_version(buffer, sizeof buffer) != kNvmlSuccess) {
    return "";
  }
  return buffer;
}

std::vector<GpuDescription> Nvml::describe_devices() const {
  std::vector<GpuDescription> gpus;
  const Functions& f = *functions_;
  for (unsigned i = 0; i < devices_.size(); ++i) {
    GpuDescription gpu;
    gpu.index = i;
    char name[256] = {};
    if (f.get_name && f.get_name(devices_[i], name, sizeof name) == kNvmlSuccess) gpu.name = name;
    nvmlMemory mem{};
    if (f.get_memory && f.get_memory(devices_[i], &mem) == kNvmlSuccess) {
      gpu.memory_total_bytes = mem.total;
    }
    gpus.push_back(gpu);
  }
  return gpus;
}

GpuInventory list_gpus(const std::string& library) {
  const Nvml nvml(library);
  GpuInventory inv;
  // Available once NVML initialized, even on a machine without GPUs (an empty list says so).
  inv.available = !nvml.driver_missing();
  if (!inv.available) {
    inv.reason = nvml.unavailable_reason();
    return inv;
  }
  inv.driver_version = nvml.driver_version();
  inv.gpus = nvml.describe_devices();
  return inv;
}

}  // namespace cb::telemetry
