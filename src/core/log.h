// Logging: spdlog to stderr; the level comes from --log-level / --quiet.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace cb::log {

// Sets the global level from a name (trace, debug, info, warn, error, off); throws InputError.
void set_level(std::string_view name);
// True when --quiet was given: progress lines and banners are suppressed.
bool quiet();
void set_quiet(bool quiet);

}  // namespace cb::log
