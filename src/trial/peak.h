// The machine's peak for model FLOP utilization (MFU): a dense single-precision matrix product
// through the BLAS that libblas.so.3 resolves to (the one LibTorch, dlib and NumPy use here),
// all cores, best of several runs. Measured once per machine and BLAS, cached beside the check
// record ($XDG_CACHE_HOME/cifarbench/peak.json), and embedded in every environment record.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>

#include "backends/backend.h"

namespace cb::trial {

struct PeakMeasurement {
  double flops_per_s = 0;  // best run
  int size = 0;            // n of the n×n×n product
  int runs = 0;
  std::string library;     // the BLAS file
};

// Measures sgemm n×n×n `runs` times (after one warm-up) through `library`'s Fortran `sgemm_`;
// nullopt with `why_not` set when the library or the symbol cannot be loaded.
std::optional<PeakMeasurement> measure_sgemm_peak(const std::string& library, int size, int runs,
                                                  std::string& why_not);

// Where the cached peak lives: $CIFARBENCH_PEAK_FILE, else $XDG_CACHE_HOME/cifarbench/peak.json,
// else ~/.cache/cifarbench/peak.json.
std::filesystem::path peak_cache_path();

enum class PeakMode {
  cached_only,         // the cached record or "unavailable"; never measures
  measure_if_missing,  // measures when nothing is cached, or when the cached figure was measured
                       // on a busy machine (load average ≥ 1) and the load is lower now
  measure,             // measures again (`env --measure-peak`)
};

// The environment record's "peak" entry: {"cpu_fp32_flops_per_s", "method", "library", "key",
// "load_1m_at_measurement", "measurements"} from the cache when its key (CPU model, logical
// cores, BLAS file) matches, else measured now as `mode` says and cached; a new measurement
// keeps the best figure ever measured for the key (other work only lowers it);
// {"unavailable": reason} otherwise. A GPU's peak is device_peak's.
nlohmann::json cpu_peak(const std::string& cpu_model, int logical_cores, const std::string& blas,
                        PeakMode mode);

// Where measured device peaks live: beside peak_cache_path(), its name ending "-devices.json";
// one record per key (device name, precision, product size and runs; the record names the
// framework that measured it).
std::filesystem::path device_peak_cache_path();

// The environment record's "peak"."device" entry for a trial on `device` (not the CPU) with
// `precision`: {"device", "device_name", "precision", "flops_per_s", "dtype", "method",
// "measured_by", "key", "measurements"}, a dense n×n×n matrix product timed by the first
// registered backend that measures device peaks (torch: cuBLAS through LibTorch), whatever the
// trial's framework, so every framework on a device is held to one peak. Cached under its key
// as `mode` says (a new measurement keeps the best figure); {"device", "precision",
// "unavailable": reason} when no backend can measure it. `cifarbench env` measures; a trial
// reads the cache only (cached_only), so that its process holds no memory of the product.
nlohmann::json device_peak(const std::string& device, backends::MixedPrecision precision,
                           PeakMode mode, int size = 8192, int runs = 5);

// Training FLOPs per image under the convention every MFU here uses: 3 × the forward pass's
// FLOPs (backward ≈ 2 × forward; a multiply-add counts 2), as in PaLM's and MLPerf's MFU.
inline double training_flops_per_image(double forward_flops) { return 3.0 * forward_flops; }

}  // namespace cb::trial
