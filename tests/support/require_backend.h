// Skips a test (visibly, as CTest's SKIP) when the framework it drives is not in this build,
// e.g. in the sanitizer preset, which builds the core without LibTorch and dlib.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "backends/backend.h"

#define CIFARBENCH_REQUIRE_BACKEND(name)                                                   \
  do {                                                                                     \
    ::cb::backends::register_builtin_backends();                                           \
    const auto* backend_ = ::cb::backends::find_backend(name);                             \
    if (!backend_ || !backend_->info().available) {                                        \
      GTEST_SKIP() << "framework '" << (name) << "' is not available in this build: "      \
                   << (backend_ ? backend_->info().unavailable_reason : std::string("?")); \
    }                                                                                      \
  } while (false)
