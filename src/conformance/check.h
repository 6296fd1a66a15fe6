// `cifarbench check`: every available backend, on every device asked for, verified on this
// machine against a reference backend (torch where present) before any of its numbers is
// trusted. The checks (docs/conformance.md) run in about a minute on 2 cores for simple-cnn.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "backends/backend.h"

namespace cb::conformance {

enum class Outcome { pass, fail, skip };
std::string_view to_string(Outcome outcome);

struct CheckResult {
  std::string backend;
  std::string device;
  std::string check;   // "logits", "sgd_steps", ...
  Outcome outcome = Outcome::skip;
  std::string detail;  // the measured value and bound, or why it was skipped or failed
};

struct CheckOptions {
  std::string model = "simple-cnn";  // a zoo model every backend can usually build
  std::optional<std::string> device;  // only this device; default: every device a backend lists
  int threads = 2;
};

struct CheckReport {
  std::string reference;  // "torch on cpu"; "" when no reference backend could be built
  std::string model;
  std::vector<CheckResult> results;
  bool failed() const;
  // The checks of `backend` (on any device) and whether each passed: "pass", "fail" or "skip".
  std::string summary(const std::string& backend) const;
};

// Checks every backend in `backends` (in order); unavailable ones are reported skipped with the
// loader's reason. The reference is the registered torch backend when it is available (checked
// or not), else the first available one of the list; it runs on the CPU. Never throws for a backend's failure: a throwing
// backend fails the check it threw in, with the message.
CheckReport run_checks(const std::vector<const backends::Backend*>& backends,
                       const CheckOptions& options);

// The report as a table: one row per check, one column per backend/device.
std::string format_check_table(const CheckReport& report);
nlohmann::json to_json(const CheckReport& report);

// Where `cifarbench check` records its latest results on this machine (read into every trial's
// environment): $CIFARBENCH_CHECK_FILE, else $XDG_CACHE_HOME/cifarbench/check.json, else
// ~/.cache/cifarbench/check.json.
std::filesystem::path check_record_path();
// Writes the record atomically: per backend its summary, version, date and host.
void write_check_record(const CheckReport& report, const std::filesystem::path& path);
// What the environment of a trial records for `framework`: {"result": "pass"|"fail", "checked":
// date, "version": ...}, or {"result": "never"} when this machine has no check of it.
nlohmann::json check_status(const std::string& framework);

}  // namespace cb::conformance
