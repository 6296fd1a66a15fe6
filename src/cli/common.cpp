#include "cli/common.h"

#include <fmt/format.h>

#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "core/error.h"
#include "model/zoo.h"

namespace cb::cli {
namespace fs = std::filesystem;

fs::path self_executable() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw CheckFailed("cannot find the cifarbench executable (/proc/self/exe)");
  return p;
}

std::vector<const backends::Backend*> chosen_backends(const std::vector<std::string>& names) {
  backends::register_builtin_backends();
  std::vector<const backends::Backend*> chosen;
  for (const auto& name : names) {
    const auto* b = backends::find_backend(name);
    if (!b) throw InputError(fmt::format("--framework {}: expected one of {}", name, backends::backend_names()));
    chosen.push_back(b);
  }
  if (chosen.empty()) {
    for (const auto& b : backends::all_backends()) chosen.push_back(b.get());
  }
  return chosen;
}

void require_zoo_model(const std::string& flag, const std::string& name) {
  if (!model::is_zoo_model(name)) {
    throw InputError(fmt::format("{} {}: expected a zoo model ({})", flag, name, fmt::join(model::zoo_names(), ", ")));
  }
}

void require_output_directory(const std::string& flag, const std::string& file) {
  if (file.empty()) return;
  const fs::path dir = fs::absolute(file).parent_path();
  if (!fs::is_directory(dir)) {
    throw InputError(fmt::format("{} {}: the directory {} does not exist", flag, file, dir.string()));
  }
}

void add_python_option(CLI::App* cmd) {
  cmd->add_option_function<std::string>(
         "--python",
         [](const std::string& path) {
           if (path.empty()) throw InputError("--python: expected the path of a Python interpreter");
           setenv("CIFARBENCH_PYTHON", path.c_str(), 1);
         },
         "Python interpreter for the Python backends (torch-py, jax, keras); default: "
         "$CIFARBENCH_PYTHON, else python3 on PATH")
      ->type_name("PATH");
}

}  // namespace cb::cli
