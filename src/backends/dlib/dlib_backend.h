// The dlib backend's public face (no dlib headers): the factory builtin.cpp calls and the zoo
// models this build has compile-time network types for.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"

namespace cb::backends {

std::unique_ptr<Backend> make_dlib_backend();
// The zoo models the dlib backend can build, in zoo order.
std::vector<std::string> dlib_supported_models();

}  // namespace cb::backends
