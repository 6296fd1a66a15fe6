#include "trial/environment.h"

#include <dlfcn.h>
#include <link.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "backends/backend.h"
#include "conformance/check.h"
#include "trial/peak.h"
#include "core/build_info.h"
#include "model/zoo.h"
#include "telemetry/nvml.h"

namespace cb::trial {
namespace {
std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n\"");
  const auto e = s.find_last_not_of(" \t\r\n\"");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::string os_pretty_name() {
  std::istringstream in(read_file("/etc/os-release"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("PRETTY_NAME=", 0) == 0) return trim(line.substr(12));
  }
  return "unknown";
}

// Variables that change what a benchmark measures (threads, devices, allocators, determinism).
const char* const kResultVariables[] = {
    "OMP_NUM_THREADS",       "MKL_NUM_THREADS",      "OPENBLAS_NUM_THREADS",
    "GOTO_NUM_THREADS",      "VECLIB_MAXIMUM_THREADS", "KMP_AFFINITY",
    "OMP_PROC_BIND",         "CUDA_VISIBLE_DEVICES", "CUDA_LAUNCH_BLOCKING",
    "CUBLAS_WORKSPACE_CONFIG", "NVIDIA_TF32_OVERRIDE", "PYTORCH_CUDA_ALLOC_CONF",
    "TF_CPP_MIN_LOG_LEVEL",  "TF_ENABLE_ONEDNN_OPTS", "TF_XLA_FLAGS",
    "LD_PRELOAD",            "CIFARBENCH_DATA",      "CIFARBENCH_TF_LIB",
    "CIFARBENCH_MALLOC",     "GLIBC_TUNABLES",
};
}  // namespace

CpuSummary parse_cpuinfo(const std::string& text) {
  CpuSummary cpu;
  std::istringstream in(text);
  std::string line;
  std::set<std::pair<std::string, std::string>> cores;  // (physical id, core id)
  std::string physical_id;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(line.substr(0, colon));
    const std::string value = trim(line.substr(colon + 1));
    if (key == "processor") {
      ++cpu.logical_cores;
      physical_id.clear();
    } else if (key == "model name" && cpu.model.empty()) {
      cpu.model = value;
    } else if (key == "physical id") {
      physical_id = value;
    } else if (key == "core id") {
      cores.emplace(physical_id, value);
    } else if (key == "flags" || key == "Features") {
      std::istringstream flags(value);
      std::string f;
      while (flags >> f) {
        if (f == "avx2") cpu.avx2 = true;
        if (f == "avx512f") cpu.avx512f = true;
        if (f == "fma") cpu.fma = true;
      }
    }
  }
  cpu.physical_cores = cores.empty() ? cpu.logical_cores : static_cast<int>(cores.size());
  return cpu;
}

long long parse_meminfo_total_bytes(const std::string& text) {
  std::istringstream in(text);
  std::string key;
  long long kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit) {
    if (key == "MemTotal:") return kb * 1024;
  }
  return -1;
}

std::string resolve_shared_library(const std::string& soname) {
  void* handle = dlopen(soname.c_str(), RTLD_LAZY | RTLD_LOCAL | RTLD_NOLOAD);
  const bool was_loaded = handle != nullptr;
  if (!handle) handle = dlopen(soname.c_str(), RTLD_LAZY | RTLD_LOCAL);
  if (!handle) return "";
  std::string path;
  link_map* map = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name) {
    std::error_code ec;
    auto canonical = std::filesystem::canonical(map->l_name, ec);
    path = ec ? std::string(map->l_name) : canonical.string();
  }
  if (!was_loaded) dlclose(handle);
  return path;
}

nlohmann::json capture_environment(const std::string& only_backend, PeakMode peak_mode) {
  nlohmann::json env;
  utsname u{};
  uname(&u);
  env["os"] = {{"name", os_pretty_name()}, {"kernel", std::string(u.sysname) + " " + u.release},
               {"machine", u.machine}, {"hostname", u.nodename}};

  const CpuSummary cpu = parse_cpuinfo(read_file("/proc/cpuinfo"));
  env["cpu"] = {{"model", cpu.model},
                {"logical_cores", cpu.logical_cores},
                {"physical_cores", cpu.physical_cores},
                {"usable_cores", static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN))},
                {"features", {{"avx2", cpu.avx2}, {"avx512f", cpu.avx512f}, {"fma", cpu.fma}}}};
  env["memory_bytes"] = parse_meminfo_total_bytes(read_file("/proc/meminfo"));

  const std::string blas = resolve_shared_library("libblas.so.3");
  std::string blas_kind = "unknown";
  if (blas.empty()) blas_kind = "not found";
  else if (blas.find("openblas") != std::string::npos) blas_kind = "OpenBLAS";
  else if (blas.find("blis") != std::string::npos) blas_kind = "BLIS";
  else if (blas.find("mkl") != std::string::npos) blas_kind = "MKL";
  else if (blas.find("atlas") != std::string::npos) blas_kind = "ATLAS";
  else if (blas.find("/blas/") != std::string::npos) blas_kind = "reference BLAS (slow)";
  env["blas"] = {{"library", blas.empty() ? "libblas.so.3 not found" : blas}, {"kind", blas_kind}};
  env["peak"] = cpu_peak(cpu.model, cpu.logical_cores, blas, peak_mode);  // for MFU

  env["build"] = {{"cifarbench_version", build::kVersion},
                  {"git_commit", build::kGitCommit},
                  {"build_type", build::kBuildType},
                  {"compiler", fmt::format("{} {}", build::kCompilerId, build::kCompilerVersion)},
                  {"cxx_flags", build::kCxxFlags},
                  {"sanitizers", build::kSanitized}};

  nlohmann::json backends = nlohmann::json::array();
  for (const auto& b : backends::all_backends()) {
    if (!only_backend.empty() && b->name() != only_backend) continue;
    const backends::BackendInfo info = b->info();
    nlohmann::json j = {{"name", info.name}, {"available", info.available}};
    if (info.available) {
      j["version"] = info.version;
      nlohmann::json devices = nlohmann::json::array();
      for (const auto& d : info.devices) devices.push_back({{"id", d.id}, {"description", d.description}});
      j["devices"] = devices;
      nlohmann::json cannot = nlohmann::json::object();
      for (const auto& name : model::zoo_names()) {
        if (auto why = b->cannot_build(model::build_zoo_model(name, 10))) cannot[name] = *why;
      }
      j["cannot_build"] = cannot;
      j["check"] = conformance::check_status(info.name);  // `cifarbench check` on this machine
    } else {
      j["reason"] = info.unavailable_reason;
    }
    backends.push_back(j);
  }
  env["backends"] = backends;
  if (!only_backend.empty()) env["backends_listed"] = "this trial's framework only (`cifarbench env` lists all)";

  const telemetry::GpuInventory gpus = telemetry::list_gpus();
  nlohmann::json g = {{"available", gpus.available}};
  if (gpus.available) {
    g["driver_version"] = gpus.driver_version;
    nlohmann::json list = nlohmann::json::array();
    for (const auto& d : gpus.gpus)
      list.push_back({{"index", d.index}, {"name", d.name}, {"memory_bytes", d.memory_total_bytes}});
    g["devices"] = list;
  } else {
    g["reason"] = gpus.reason;
  }
  env["gpus"] = g;

  nlohmann::json vars = nlohmann::json::object();
  for (const char* name : kResultVariables) {
    const char* v = std::getenv(name);
    vars[name] = v ? nlohmann::json(v) : nlohmann::json(nullptr);
  }
  env["environment_variables"] = vars;
  return env;
}

std::string format_environment(const nlohmann::json& env) {
  std::string out;
  auto line = [&](std::string_view key, const std::string& value) {
    out += fmt::format("{:<22}{}\n", key, value);
  };
  line("cifarbench", fmt::format("{} (commit {}, {} build, {})",
                                 env["build"]["cifarbench_version"].get<std::string>(),
                                 env["build"]["git_commit"].get<std::string>(),
                                 env["build"]["build_type"].get<std::string>(),
                                 env["build"]["compiler"].get<std::string>()));
  line("compiler flags", env["build"]["cxx_flags"].get<std::string>());
  line("OS", env["os"]["name"].get<std::string>() + ", " + env["os"]["kernel"].get<std::string>());
  const auto& cpu = env["cpu"];
  line("CPU", cpu["model"].get<std::string>());
  line("cores", fmt::format("{} physical, {} logical, {} usable", cpu["physical_cores"].get<int>(),
                            cpu["logical_cores"].get<int>(), cpu["usable_cores"].get<int>()));
  std::string feats;
  for (auto& [k, v] : cpu["features"].items()) feats += fmt::format("{}={} ", k, v.get<bool>() ? "yes" : "no");
  line("CPU features", feats);
  line("memory", fmt::format("{:.1f} GiB", env["memory_bytes"].get<long long>() / 1073741824.0));
  line("BLAS", fmt::format("{} ({})", env["blas"]["kind"].get<std::string>(),
                           env["blas"]["library"].get<std::string>()));
  const auto& peak = env.value("peak", nlohmann::json::object());
  if (peak.contains("cpu_fp32_flops_per_s")) {
    line("CPU peak (for MFU)",
         fmt::format("{:.1f} GFLOP/s fp32 ({}; load average {:.2f} then; `env --measure-peak` "
                     "measures again on an idle machine and keeps the best)",
                     peak["cpu_fp32_flops_per_s"].get<double>() / 1e9, peak.value("method", ""),
                     peak.value("load_1m_at_measurement", -1.0)));
  } else {
    line("CPU peak (for MFU)", "n/a (" + peak.value("unavailable", std::string("not measured")) + ")");
  }
  for (const auto& d : peak.value("devices", nlohmann::json::array())) {
    const std::string what = fmt::format("{} ({}), precision {}", d.value("device", ""),
                                         d.value("device_name", ""), d.value("precision", ""));
    line("GPU peak (for MFU)",
         d.contains("flops_per_s")
             ? fmt::format("{:.1f} TFLOP/s on {}: {}, by {}", d["flops_per_s"].get<double>() / 1e12, what,
                           d.value("method", ""), d.value("measured_by", ""))
             : fmt::format("n/a on {} ({})", what, d.value("unavailable", std::string())));
  }
  out += "backends\n";
  for (const auto& b : env["backends"]) {
    if (b["available"].get<bool>()) {
      std::string devices;
      for (const auto& d : b["devices"]) devices += (devices.empty() ? "" : ", ") + d["id"].get<std::string>();
      out += fmt::format("  {:<17}available, version {}; devices: {}\n", b["name"].get<std::string>(),
                         b["version"].get<std::string>(), devices);
      if (b.contains("cannot_build")) {
        for (auto& [model_name, why] : b["cannot_build"].items()) {
          out += fmt::format("                   cannot build {}: {}\n", model_name, why.get<std::string>());
        }
      }
    } else {
      out += fmt::format("  {:<17}unavailable: {}\n", b["name"].get<std::string>(),
                         b["reason"].get<std::string>());
    }
  }
  const auto& g = env["gpus"];
  if (g["available"].get<bool>()) {
    out += fmt::format("NVIDIA GPUs           driver {}\n", g["driver_version"].get<std::string>());
    for (const auto& d : g["devices"])
      out += fmt::format("  [{}] {} ({:.1f} GiB)\n", d["index"].get<unsigned>(), d["name"].get<std::string>(),
                         d["memory_bytes"].get<unsigned long long>() / 1073741824.0);
  } else {
    line("NVIDIA GPUs", g["reason"].get<std::string>());
  }
  out += "environment variables\n";
  for (auto& [k, v] : env["environment_variables"].items())
    out += fmt::format("  {:<24}{}\n", k, v.is_null() ? "(unset)" : v.get<std::string>());
  return out;
}

}  // namespace cb::trial
