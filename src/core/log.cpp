#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <atomic>

#include "core/error.h"

namespace cb::log {
namespace {
std::atomic<bool> g_quiet{false};

void ensure_stderr_logger() {
  static const bool installed = [] {
    auto logger = spdlog::stderr_color_mt("cifarbench");
    logger->set_pattern("[%l] %v");
    spdlog::set_default_logger(logger);
    return true;
  }();
  (void)installed;
}
}  // namespace

void set_level(std::string_view name) {
  ensure_stderr_logger();
  const auto level = spdlog::level::from_str(std::string(name));
  if (level == spdlog::level::off && name != "off") {
    throw InputError("--log-level: unknown level '" + std::string(name) +
                     "' (expected trace, debug, info, warn, error or off)");
  }
  spdlog::set_level(level);
}

bool quiet() { return g_quiet.load(); }

void set_quiet(bool quiet) {
  ensure_stderr_logger();
  g_quiet = quiet;
  if (quiet) spdlog::set_level(spdlog::level::warn);
}

}  // namespace cb::log
