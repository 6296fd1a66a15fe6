// `cifarbench parity`: every pair of available frameworks trained side by side from the same
// weights on the same batches (src/conformance/parity.h), step by step, with each backend's
// effective settings. A diagnostic: it exits 0 whatever it finds, 2 on bad input.
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "backends/backend.h"
#include "cli/command.h"
#include "cli/common.h"
#include "conformance/parity.h"
#include "core/atomic_file.h"
#include "core/error.h"

namespace cb::cli {
namespace {

struct ParityCommandOptions {
  std::vector<std::string> frameworks;
  std::string json_out;
  conformance::ParityOptions parity;
};

void run_parity_command(const ParityCommandOptions& o) {
  require_zoo_model("--model", o.parity.model);
  require_output_directory("--json", o.json_out);
  const auto chosen = chosen_backends(o.frameworks);
  const auto report = conformance::run_parity(chosen, o.parity);
  fmt::print("{}", conformance::format_parity(report));
  if (!o.json_out.empty()) write_file_atomically(o.json_out, conformance::to_json(report).dump(2) + "\n");
}

const CommandRegistration parity_registration{"parity", 56, [](CLI::App& app) {
  auto o = std::make_shared<ParityCommandOptions>();
  auto* cmd = app.add_subcommand(
      "parity", "Train every pair of frameworks side by side from the same weights and batches; "
                "show where they part (step and layer) and each backend's effective settings");
  add_python_option(cmd);
  cmd->add_option("--framework", o->frameworks, "compare only these backends (repeatable; default: all)");
  cmd->add_option("--model", o->parity.model, "zoo model (default simple-cnn)");
  cmd->add_option("--steps", o->parity.steps, "SGD steps (default 50)")->check(CLI::Range(1, 100000));
  cmd->add_option("--batch", o->parity.batch, "images per batch (default 32)")->check(CLI::Range(2, 4096));
  cmd->add_option("--lr", o->parity.learning_rate, "learning rate (default 0.02)")->check(finite_in(1e-9, 10));
  cmd->add_option("--seed", o->parity.seed, "seed of the initial weights and the synthetic batches")
      ->check(non_negative_integer());
  cmd->add_option("--threads", o->parity.threads, "CPU threads per trainer (default 2)")->check(CLI::Range(1, 4096));
  cmd->add_option("--json", o->json_out, "also write the comparison as JSON to FILE");
  cmd->callback([o] { run_parity_command(*o); });
}};

}  // namespace
}  // namespace cb::cli
