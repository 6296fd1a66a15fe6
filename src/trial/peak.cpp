#include "trial/peak.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "core/atomic_file.h"
#include "telemetry/nvml.h"

namespace cb::trial {
namespace {

using Sgemm = void (*)(const char*, const char*, const int*, const int*, const int*, const float*,
                       const float*, const int*, const float*, const int*, const float*, float*,
                       const int*);

std::string peak_key(const std::string& cpu_model, int logical_cores, const std::string& blas) {
  return fmt::format("{} | {} logical cores | {}", cpu_model, logical_cores, blas);
}

constexpr int kPeakSize = 2048, kPeakRuns = 5;
constexpr double kBusyLoad = 1.0;

double load_average() {
  std::ifstream in("/proc/loadavg");
  double load = -1;
  in >> load;
  return load;
}

}  // namespace

std::optional<PeakMeasurement> measure_sgemm_peak(const std::string& library, int size, int runs,
                                                  std::string& why_not) {
  // Never closed: BLAS libraries keep thread pools that must not outlive their code.
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    why_not = fmt::format("{} could not be loaded: {}", library, dlerror());
    return std::nullopt;
  }
  const auto sgemm = reinterpret_cast<Sgemm>(dlsym(handle, "sgemm_"));
  if (sgemm == nullptr) {
    why_not = fmt::format("{} has no sgemm_", library);
    return std::nullopt;
  }
  const std::size_t elements = static_cast<std::size_t>(size) * static_cast<std::size_t>(size);
  std::vector<float> a(elements), b(elements), c(elements, 0.0f);
  for (std::size_t i = 0; i < elements; ++i) {
    a[i] = static_cast<float>(i % 7) * 0.01f;
    b[i] = static_cast<float>(i % 5) * 0.02f;
  }
  const float alpha = 1.0f, beta = 0.0f;
  PeakMeasurement m;
  m.size = size;
  m.runs = runs;
  m.library = library;
  for (int r = -1; r < runs; ++r) {  // r = -1: warm-up (thread pool start, page faults)
    const auto start = std::chrono::steady_clock::now();
    sgemm("N", "N", &size, &size, &size, &alpha, a.data(), &size, b.data(), &size, &beta, c.data(),
          &size);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (r >= 0 && s > 0) m.flops_per_s = std::max(m.flops_per_s, 2.0 * size * size * size / s);
  }
  return m;
}

std::filesystem::path peak_cache_path() {
  if (const char* f = std::getenv("CIFARBENCH_PEAK_FILE"); f && *f) return f;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) {
    return std::filesystem::path(x) / "cifarbench/peak.json";
  }
  if (const char* h = std::getenv("HOME"); h && *h) {
    return std::filesystem::path(h) / ".cache/cifarbench/peak.json";
  }
  return std::filesystem::temp_directory_path() / "cifarbench-peak.json";
}

namespace {

// A record whose measurement ran with a load average of a whole core or more: other work took
// part of the machine, so the figure is low; it is measured again when the load is lower.
bool measured_busy(const nlohmann::json& record) {
  return record.value("load_1m_at_measurement", 0.0) >= kBusyLoad;
}

// Writes a cache file atomically; an unwritable cache only costs a measurement next time.
void write_cache(const std::filesystem::path& path, const nlohmann::json& content) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  try {
    write_file_atomically(path, content.dump(2) + "\n");
  } catch (const std::exception&) {
  }
}

nlohmann::json measure_and_record(const std::string& blas, const std::string& key,
                                  const nlohmann::json& previous) {
  std::string why_not;
  const double load = load_average();
  const auto m = measure_sgemm_peak(blas, kPeakSize, kPeakRuns, why_not);
  if (!m) return {{"unavailable", why_not}};
  nlohmann::json record = {
      {"cpu_fp32_flops_per_s", m->flops_per_s},
      {"method", fmt::format("sgemm {0}×{0}×{0}, best of {1} after a warm-up, the BLAS's default "
                             "threads (all cores)",
                             m->size, m->runs)},
      {"library", blas},
      {"key", key},
      // Other work on the machine lowers the figure: say how busy it was.
      {"load_1m_at_measurement", load},
      {"measurements", previous.value("measurements", 0) + 1}};
  // The machine cannot be slower than a measurement it once reached: keep the best.
  if (previous.value("cpu_fp32_flops_per_s", 0.0) > m->flops_per_s) {
    record["cpu_fp32_flops_per_s"] = previous["cpu_fp32_flops_per_s"];
    record["load_1m_at_measurement"] = previous.value("load_1m_at_measurement", load);
  }
  write_cache(peak_cache_path(), record);
  return record;
}

}  // namespace

nlohmann::json cpu_peak(const std::string& cpu_model, int logical_cores, const std::string& blas,
                        PeakMode mode) {
  if (blas.empty()) return {{"unavailable", "libblas.so.3 not found"}};
  const std::string key = peak_key(cpu_model, logical_cores, blas);
  const auto path = peak_cache_path();
  nlohmann::json cached = nlohmann::json::object();
  if (std::ifstream in(path); in) {
    const auto read = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (read.is_object() && read.value("key", "") == key && read.value("cpu_fp32_flops_per_s", 0.0) > 0)
      cached = read;
  }
  if (mode == PeakMode::cached_only) {
    if (!cached.empty()) return cached;
    return {{"unavailable", fmt::format("not measured yet ({})", path.string())}};
  }
  const bool quiet_now = measured_busy(cached) && load_average() < kBusyLoad;
  if (!cached.empty() && mode == PeakMode::measure_if_missing && !quiet_now) return cached;
  return measure_and_record(blas, key, cached);
}

std::filesystem::path device_peak_cache_path() {
  const auto cpu = peak_cache_path();
  return cpu.parent_path() / (cpu.stem().string() + "-devices.json");
}

namespace {

// "NVIDIA H200" for "cuda:0" where NVML lists that index, else the id itself.
std::string device_name(const std::string& device) {
  if (device.rfind("cuda:", 0) != 0) return device;
  const auto inventory = telemetry::list_gpus();
  for (const auto& g : inventory.gpus) {
    if (device == fmt::format("cuda:{}", g.index)) return g.name;
  }
  return device;
}

nlohmann::json read_device_cache(const std::filesystem::path& path) {
  if (std::ifstream in(path); in) {
    auto read = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (read.is_object()) return read;
  }
  return nlohmann::json::object();
}

// The first registered backend's measurement, or {"unavailable": every backend's reason}.
nlohmann::json measure_device(const std::string& device, backends::MixedPrecision precision,
                              int size, int runs) {
  std::string reasons;
  for (const auto& b : backends::all_backends()) {
    std::string why_not;
    const auto m = b->measure_device_peak(device, precision, size, runs, why_not);
    if (m && m->flops_per_s > 0) {
      return {{"flops_per_s", m->flops_per_s},
              {"dtype", m->dtype},
              {"method", fmt::format("{0} matrix product {1}×{1}×{1}, best of {2} after a warm-up, the "
                                     "device synchronized around each",
                                     m->dtype, m->size, m->runs)},
              {"measured_by", b->name()}};
    }
    if (!why_not.empty()) reasons += (reasons.empty() ? "" : "; ") + why_not;
  }
  return {{"unavailable", reasons.empty() ? "no backend measures device peaks" : reasons}};
}

}  // namespace

nlohmann::json device_peak(const std::string& device, backends::MixedPrecision precision,
                           PeakMode mode, int size, int runs) {
  const std::string name = device_name(device);
  const std::string p(backends::to_string(precision));
  const std::string key = fmt::format("{} | precision {} | {}³ best of {}", name, p, size, runs);
  const nlohmann::json identity = {{"device", device}, {"device_name", name}, {"precision", p}};
  const auto path = device_peak_cache_path();
  nlohmann::json cache = read_device_cache(path);
  const nlohmann::json cached = cache.value(key, nlohmann::json::object());
  const bool have = cached.is_object() && cached.value("flops_per_s", 0.0) > 0;
  if (have && mode != PeakMode::measure) {
    nlohmann::json record = cached;
    record.update(identity);
    return record;
  }
  if (mode == PeakMode::cached_only) {
    nlohmann::json record = identity;
    record["unavailable"] = fmt::format("not measured yet: `cifarbench env` measures it ({})", path.string());
    return record;
  }
  nlohmann::json record = measure_device(device, precision, size, runs);
  record.update(identity);
  if (record.contains("unavailable")) return record;
  record["key"] = key;
  record["measurements"] = (have ? cached.value("measurements", 0) : 0) + 1;
  // The device cannot be slower than a measurement it once reached: keep the best.
  if (have && cached["flops_per_s"].get<double>() > record["flops_per_s"].get<double>()) {
    record["flops_per_s"] = cached["flops_per_s"];
  }
  cache[key] = record;
  write_cache(path, cache);
  return record;
}

}  // namespace cb::trial
