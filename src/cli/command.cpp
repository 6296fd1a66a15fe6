#include "cli/command.h"

#include <algorithm>
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
