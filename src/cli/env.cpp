// `cifarbench env`: the environment record, as text or JSON.
#include <fmt/format.h>

#include <filesystem>

#include "trial/environment.h"
#include "trial/peak.h"
#include "cli/command.h"
#include "cli/common.h"

namespace cb::cli {
namespace {
const CommandRegistration env_registration{"env", 60, [](CLI::App& app) {
  auto* cmd = app.add_subcommand("env", "Print the environment record: machine, BLAS, build, "
                                        "backends, GPUs, variables that change results");
  add_python_option(cmd);
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "print the record as JSON");
  auto remeasure = std::make_shared<bool>(false);
  cmd->add_flag("--measure-peak", *remeasure,
                "measure the CPU peak (and each GPU's) for model FLOP utilization again (on an idle "
                "machine); the cache keeps the best figure measured");
  cmd->callback([json, remeasure] {
    const auto mode = *remeasure ? trial::PeakMode::measure : trial::PeakMode::measure_if_missing;
    nlohmann::json env = trial::capture_environment("", mode);
    // Each GPU's peak for fp32, bf16 and fp16 trials, which read it from the cache.
    if (env["gpus"].value("available", false)) {
      nlohmann::json devices = nlohmann::json::array();
      for (const auto& d : env["gpus"]["devices"]) {
        for (auto p : {backends::MixedPrecision::off, backends::MixedPrecision::bf16,
                       backends::MixedPrecision::fp16}) {
          devices.push_back(trial::device_peak(fmt::format("cuda:{}", d["index"].get<unsigned>()), p, mode));
        }
      }
      env["peak"]["devices"] = devices;
    }
    if (*json) {
      fmt::print("{}\n", env.dump(2));
    } else {
      fmt::print("{}", trial::format_environment(env));
    }
  });
}};
}  // namespace
}  // namespace cb::cli
