#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <mutex>

#include "backends/backend.h"
#include "core/error.h"

namespace cb::backends {
namespace {
std::vector<std::unique_ptr<Backend>>& registry() {
  static std::vector<std::unique_ptr<Backend>> backends;
  return backends;
}
}  // namespace

std::string_view to_string(MixedPrecision precision) {
  switch (precision) {
    case MixedPrecision::off: return "off";
    case MixedPrecision::fp16: return "fp16";
    case MixedPrecision::bf16: return "bf16";
  }
  return "off";
}

std::string distinct_values(const std::vector<double>& values) {
  std::vector<double> seen;
  for (double v : values) {
    if (std::find(seen.begin(), seen.end(), v) == seen.end()) seen.push_back(v);
  }
  if (seen.empty()) return "none";
  return fmt::format("{}", fmt::join(seen, ", "));
}

StepResult train_step_and_read(Trainer& trainer, const data::Batch& batch) {
  trainer.train_step(batch);
  const std::vector<StepResult> read = trainer.read_steps();
  if (read.empty()) throw CheckFailed("read_steps returned nothing after a train_step");
  return read.back();
}

std::optional<DevicePeak> Backend::measure_device_peak(const std::string& /*device*/,
                                                       MixedPrecision /*precision*/, int /*size*/,
                                                       int /*runs*/, std::string& why_not) const {
  why_not.clear();  // this framework does not measure: another may
  return std::nullopt;
}

std::optional<MixedPrecision> parse_mixed_precision(std::string_view name) {
  for (auto p : {MixedPrecision::off, MixedPrecision::fp16, MixedPrecision::bf16}) {
    if (to_string(p) == name) return p;
  }
  return std::nullopt;
}

void register_backend(std::unique_ptr<Backend> backend) {
  const std::string name = backend->name();
  for (auto& existing : registry()) {
    if (existing->name() == name) {
      existing = std::move(backend);
      return;
    }
  }
  registry().push_back(std::move(backend));
}

const std::vector<std::unique_ptr<Backend>>& all_backends() { return registry(); }

const Backend* find_backend(std::string_view name) {
  for (const auto& b : registry()) {
    if (b->name() == name) return b.get();
  }
  return nullptr;
}

std::string backend_names() {
  std::string out;
  for (const auto& b : registry()) {
    if (!out.empty()) out += ", ";
    out += b->name();
  }
  return out;
}

BackendInfo MissingBackend::info() const {
  BackendInfo info;
  info.name = name_;
  info.available = false;
  info.unavailable_reason = reason_;
  return info;
}

std::unique_ptr<Trainer> MissingBackend::create_trainer(const TrainerConfig&) const {
  throw Unsupported(fmt::format("framework '{}' is not available: {}", name_, reason_));
}

}  // namespace cb::backends
