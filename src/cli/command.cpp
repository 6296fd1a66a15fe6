#include "cli/command.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace cb::cli {
namespace {
struct Entry {
  std::string name;
  int order;
  CommandSetup setup;
};
std::vector<Entry>& entries() {
  static std::vector<Entry> list;
  return list;
}
int g_exit_status = 0;
}  // namespace

CommandRegistration::CommandRegistration(std::string name, int order, CommandSetup setup) {
  entries().push_back({std::move(name), order, std::move(setup)});
}

void add_registered_commands(CLI::App& app) {
  auto list = entries();
  std::stable_sort(list.begin(), list.end(),
                   [](const Entry& a, const Entry& b) { return a.order < b.order; });
  for (auto& e : list) e.setup(app);
}

void set_exit_status(int status) { g_exit_status = status; }
int exit_status() { return g_exit_status; }

}  // namespace cb::cli

namespace cb::cli {

CLI::Validator finite_in(double min, double max) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        std::size_t used = 0;
        double v = 0;
        try {
          v = std::stod(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != text.size() || !std::isfinite(v) || v < min || v > max) {
          return fmt::format("expected a finite number from {} to {}, got '{}'", min, max, text);
        }
        return "";
      },
      fmt::format("FINITE in [{} - {}]", min, max));
}

CLI::Validator non_negative_integer() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
          return fmt::format("expected a non-negative integer, got '{}'", text);
        }
        return "";
      },
      "UINT");
}

}  // namespace cb::cli
