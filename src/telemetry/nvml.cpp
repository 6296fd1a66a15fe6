#include "telemetry/nvml.h"

#include <dlfcn.h>

#include <fmt/format.h>

namespace cb::telemetry {
namespace {
// The few NVML declarations we use, written from NVML's documented C API.
using nvmlReturn = int;
using nvmlDevice = void*;
struct nvmlMemory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
constexpr nvmlReturn kNvmlSuccess = 0;

template <typename F>
F symbol(void* lib, const char* name) {
  return reinterpret_cast<F>(dlsym(lib, name));
}
}  // namespace

GpuInventory list_gpus(const std::string& library) {
  GpuInventory inv;
  void* lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* err = dlerror();
    inv.reason = fmt::format("no NVIDIA driver found ({} could not be loaded: {})", library,
                             err ? err : "unknown error");
    return inv;
  }
  auto init = symbol<nvmlReturn (*)()>(lib, "nvmlInit_v2");
  auto shutdown = symbol<nvmlReturn (*)()>(lib, "nvmlShutdown");
  auto get_count = symbol<nvmlReturn (*)(unsigned*)>(lib, "nvmlDeviceGetCount_v2");
  auto get_handle = symbol<nvmlReturn (*)(unsigned, nvmlDevice*)>(lib, "nvmlDeviceGetHandleByIndex_v2");
  auto get_name = symbol<nvmlReturn (*)(nvmlDevice, char*, unsigned)>(lib, "nvmlDeviceGetName");
  auto get_driver = symbol<nvmlReturn (*)(char*, unsigned)>(lib, "nvmlSystemGetDriverVersion");
  auto get_memory = symbol<nvmlReturn (*)(nvmlDevice, nvmlMemory*)>(lib, "nvmlDeviceGetMemoryInfo");
  if (!init || !get_count || !get_handle) {
    inv.reason = fmt::format("{} lacks nvmlInit_v2/nvmlDeviceGetCount_v2/"
                             "nvmlDeviceGetHandleByIndex_v2 (driver too old)", library);
    dlclose(lib);
    return inv;
  }
  if (nvmlReturn rc = init(); rc != kNvmlSuccess) {
    inv.reason = fmt::format("no NVIDIA driver found (nvmlInit_v2 failed with code {})", rc);
    dlclose(lib);
    return inv;
  }
  inv.available = true;
  char buffer[256] = {};
  if (get_driver && get_driver(buffer, sizeof buffer) == kNvmlSuccess) inv.driver_version = buffer;
  unsigned count = 0;
  if (get_count(&count) == kNvmlSuccess) {
    for (unsigned i = 0; i < count; ++i) {
      nvmlDevice dev = nullptr;
      if (get_handle(i, &dev) != kNvmlSuccess) continue;
      GpuDescription gpu;
      gpu.index = i;
      if (get_name && get_name(dev, buffer, sizeof buffer) == kNvmlSuccess) gpu.name = buffer;
      nvmlMemory mem{};
      if (get_memory && get_memory(dev, &mem) == kNvmlSuccess) gpu.memory_total_bytes = mem.total;
      inv.gpus.push_back(gpu);
    }
  }
  if (shutdown) shutdown();
  dlclose(lib);
  return inv;
}

}  // namespace cb::telemetry
