// Subcommand registration: each src/cli/<name>.cpp registers itself with a static
// CommandRegistration, so main.cpp never lists subcommands and --help shows only what exists.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace cb::cli {

// Adds the subcommand to `app` and sets its callback. Callbacks report failure by throwing a
// cb::Error (its status becomes the exit status) or by calling set_exit_status.
using CommandSetup = std::function<void(CLI::App& app)>;

struct CommandRegistration {
  // `order` sorts subcommands in --help (run 10, train 20, report 30, data 40, models 50, env 60).
  CommandRegistration(std::string name, int order, CommandSetup setup);
};

// Adds every registered subcommand to `app`, in order.
void add_registered_commands(CLI::App& app);

// Validators that refuse what CLI::Range lets through: NaN and infinities for numbers (a NaN
// compares false with both bounds), and a leading minus sign for unsigned integers (CLI11 would
// wrap -1 to 2^64 - 1).
CLI::Validator finite_in(double min, double max);
CLI::Validator non_negative_integer();

// The exit status main returns after a callback finishes without throwing (default 0).
void set_exit_status(int status);
int exit_status();

}  // namespace cb::cli
