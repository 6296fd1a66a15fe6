// `cifarbench env`: the environment record, as text or JSON.
#include <fmt/format.h>

#include <filesystem>

#include "trial/environment.h"
#include "trial/peak.h"
#include "cli/command.h"
#include "cli/common.h"

namespace cb::cli {
namespace {
const CommandRegistration registration{"env", 60, [](CLI::App& app) {
  auto* cmd = app.add_subcommand("env", "Print the environment record: machine, BLAS, build, "
                                        "backends, GPUs, variables that change results");
  add_python_option(cmd);
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "print the record as JSON");
  auto remeasure = std::make_shared<bool>(false);
  cmd->add_flag("--measure-peak", *remeasure,
                "measure the CPU peak for model FLOP utilization again (on an idle machine); the "
                "cache keeps the best figure measured");
  cmd->callback([json, remeasure] {
    const nlohmann::json env = trial::capture_environment(
        "", *remeasure ? trial::PeakMode::measure : trial::PeakMode::measure_if_missing);
    if (*json) {
      fmt::print("{}\n", env.dump(2));
    } else {
      fmt::print("{}", trial::format_environment(env));
    }
  });
}};
}  // namespace
}  // namespace cb::cli
