#include "trial/malloc_policy.h"

#include <fmt/format.h>
#include <malloc.h>

#include <climits>
#include <cstdlib>

#include "core/error.h"

namespace cb::trial {
namespace {

// glibc refuses an mmap threshold above half its maximum heap size (32 MiB on 64-bit).
constexpr int kMmapThreshold = 32 * 1024 * 1024;
constexpr int kTrimThreshold = INT_MAX;

}  // namespace

std::string malloc_policy_from_environment() {
  const char* v = std::getenv("CIFARBENCH_MALLOC");
  const std::string policy = v && *v ? v : "keep";
  if (policy != "keep" && policy != "system") {
    throw InputError(fmt::format("CIFARBENCH_MALLOC={}: expected keep (the default: freed memory "
                                 "stays in the process) or system (glibc's defaults)",
                                 policy));
  }
  return policy;
}

nlohmann::json apply_malloc_policy(const std::string& policy) {
  if (policy == "system") return {{"policy", "system"}, {"applied", true}};
  const bool mmap_ok = mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1;
  const bool trim_ok = mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1;
  // Child processes (Python workers) start with the same policy.
  const std::string tunables = fmt::format(
      "glibc.malloc.mmap_threshold={}:glibc.malloc.trim_threshold={}", kMmapThreshold,
      kTrimThreshold);
  const char* existing = std::getenv("GLIBC_TUNABLES");
  if (existing == nullptr || *existing == '\0') setenv("GLIBC_TUNABLES", tunables.c_str(), 1);
  return {{"policy", "keep"},
          {"mmap_threshold", kMmapThreshold},
          {"trim_threshold", kTrimThreshold},
          {"applied", mmap_ok && trim_ok}};
}

}  // namespace cb::trial
