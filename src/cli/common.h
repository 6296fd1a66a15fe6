// Small helpers several subcommands share.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "backends/backend.h"

namespace CLI {
class App;
}

namespace cb::cli {

// This cifarbench executable (/proc/self/exe), for the child processes a command starts.
std::filesystem::path self_executable();

// The backends named by repeated --framework flags (InputError naming an unknown one), or every
// registered backend when none is named. Registers the built-in backends first.
std::vector<const backends::Backend*> chosen_backends(const std::vector<std::string>& names);

// Refuses (InputError naming `flag`, listing the zoo) a model name that is not a zoo model.
void require_zoo_model(const std::string& flag, const std::string& name);

// Refuses (InputError naming `flag`) an output file whose directory does not exist, before any
// work is done.
void require_output_directory(const std::string& flag, const std::string& file);

// Adds --python PATH to `cmd`: the interpreter the Python backends (torch-py, jax, keras) run
// their workers with. It sets CIFARBENCH_PYTHON for this process, so trial children inherit it
// (docs/backends/python.md).
void add_python_option(CLI::App* cmd);

}  // namespace cb::cli
