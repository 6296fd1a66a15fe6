// The memory allocation policy of a trial's process, one harness setting applied identically to
// every framework (docs/recipes.md, "Memory allocation"): `keep` (the default) tells glibc's
// malloc to keep freed memory in the process (blocks up to 32 MiB come from the heap, and the
// heap's top is not returned to the kernel), so that a training step does not unmap and fault
// in the same large tensors again every time; `system` leaves glibc's defaults. Python workers
// get the same through GLIBC_TUNABLES, which this sets for child processes.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace cb::trial {

// The policy named by $CIFARBENCH_MALLOC ("keep" when unset); InputError for another value.
std::string malloc_policy_from_environment();

// Applies `policy` to this process (mallopt) and exports it to child processes; returns the
// record every trial's environment carries: {"policy", "mmap_threshold", "trim_threshold",
// "applied"}.
nlohmann::json apply_malloc_policy(const std::string& policy);

}  // namespace cb::trial
