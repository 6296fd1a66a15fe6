// The cifarbench executable: global flags, the registered subcommands, and the one place that
// prints errors and picks the exit status (0 done, 1 failed, 2 bad input, 130 interrupted).
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "cli/command.h"
#include "core/build_info.h"
#include "core/error.h"
#include "core/log.h"

int main(int argc, char** argv) {
  CLI::App app{"cifarbench: fair, statistically honest benchmarks of deep-learning frameworks "
               "training image classifiers (CIFAR-10 first)",
               "cifarbench"};
  app.set_version_flag("--version", fmt::format("cifarbench {} (commit {}, {} build)",
                                                cb::build::kVersion, cb::build::kGitCommit,
                                                cb::build::kBuildType));
  std::string log_level = "info";
  bool quiet = false;
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  app.add_flag("-q,--quiet", quiet, "only warnings and errors; no progress lines");
  app.require_subcommand(1);
  app.parse_complete_callback([&] {
    cb::log::set_level(log_level);
    if (quiet) cb::log::set_quiet(true);
  });

  try {
    cb::backends::register_builtin_backends();
    cb::cli::add_registered_commands(app);
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      // "A subcommand is required" would not say that the word given was not one.
      const std::vector<std::string> extra = app.remaining();
      if (app.get_subcommands().empty() && !extra.empty() && !extra.front().starts_with('-')) {
        std::vector<std::string> names;
        const CLI::App& root = app;
        for (const CLI::App* sub : root.get_subcommands([](const CLI::App*) { return true; })) {
          names.push_back(sub->get_name());
        }
        fmt::print(stderr, "cifarbench: error: unknown subcommand '{}' (valid: {}; see --help)\n",
                   extra.front(), fmt::join(names, ", "));
        return static_cast<int>(cb::ExitStatus::bad_input);
      }
      app.exit(e);  // prints the message and usage
      return static_cast<int>(cb::ExitStatus::bad_input);
    }
  } catch (const cb::Error& e) {
    std::fflush(stdout);
    fmt::print(stderr, "cifarbench: error: {}\n", e.what());
    return static_cast<int>(e.status());
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "cifarbench: internal error: {}\n", e.what());
    return static_cast<int>(cb::ExitStatus::failed);
  }
  return cb::cli::exit_status();
}
