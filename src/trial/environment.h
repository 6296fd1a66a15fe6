// The environment record (`cifarbench env`): machine, OS, BLAS, build, backends, GPUs and the
// environment variables that change results. Every trial result embeds it.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "trial/peak.h"

namespace cb::trial {

// Collects the record; backends must be registered first (register_builtin_backends).
// `only_backend` non-empty: the "backends" list holds that framework alone. A trial records its
// own framework: probing the others (a Python interpreter importing torch, jax and TensorFlow)
// costs seconds per trial and says nothing about its result; `cifarbench env` lists them all.
nlohmann::json capture_environment(const std::string& only_backend = "",
                                  PeakMode peak_mode = PeakMode::measure_if_missing);
// Human-readable rendering of the record, as `cifarbench env` prints it.
std::string format_environment(const nlohmann::json& env);

// Pieces, exposed for tests: parsing of /proc/cpuinfo and /proc/meminfo text.
struct CpuSummary {
  std::string model;
  int logical_cores = 0;
  int physical_cores = 0;
  bool avx2 = false, avx512f = false, fma = false;
};
CpuSummary parse_cpuinfo(const std::string& text);
long long parse_meminfo_total_bytes(const std::string& text);  // MemTotal, or -1
// Resolves which file the dynamic loader would open for `soname` (e.g. libblas.so.3), or "".
std::string resolve_shared_library(const std::string& soname);

}  // namespace cb::trial
