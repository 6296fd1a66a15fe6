#include "suite/executor.h"

#include <fmt/format.h>

namespace cb::suite {

std::string_view to_string(ExecutorKind kind) { return kind == ExecutorKind::slurm ? "slurm" : "local"; }

std::optional<ExecutorKind> parse_executor_kind(std::string_view name) {
  if (name == "local") return ExecutorKind::local;
  if (name == "slurm") return ExecutorKind::slurm;
  return std::nullopt;
}

ExecutorSettings parse_executor(config::TableReader& t) {
  ExecutorSettings e;
  e.kind = *parse_executor_kind(t.choice("kind", "local", {"local", "slurm"}));
  SlurmSettings& s = e.slurm;
  s.partition = t.string("partition", "");
  s.account = t.string("account", "");
  s.qos = t.string("qos", "");
  s.cpus_per_trial = static_cast<int>(t.integer("cpus_per_trial", 0, 0, 4096));
  s.memory = t.string("memory", "");
  if (!s.memory.empty() && s.memory.find_first_not_of("0123456789") == 0) {
    t.fail("memory", fmt::format("a size such as \"16G\" or \"4000M\" (sbatch --mem), got \"{}\"", s.memory));
  }
  s.gpus_per_trial = static_cast<int>(t.integer("gpus_per_trial", 0, 0, 64));
  s.sbatch_args = t.strings("sbatch_args", {});
  for (const auto& a : s.sbatch_args) {
    if (a.rfind("-", 0) != 0 || a.find('\n') != std::string::npos) {
      t.fail("sbatch_args", fmt::format("sbatch options, each starting with '-' on one line, got \"{}\"", a));
    }
  }
  s.max_in_flight = static_cast<int>(t.integer("max_in_flight", 0, 0, 1000000));
  s.poll_interval_s = t.number("poll_interval_s", s.poll_interval_s, 0.1, 3600);
  t.reject_unknown_keys();
  return e;
}

}  // namespace cb::suite
