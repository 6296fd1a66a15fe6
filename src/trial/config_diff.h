// What differs between the configuration that produced stored results and the one asked for
// now: resuming (a suite's completed trials, `train --resume`'s checkpoint) checks that they
// are the same, so epochs trained under one configuration are never reported under another.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace cb::trial {

// One line per difference, "path.to.key: stored → wanted" (a key only one side has shows as
// "(absent)"); empty when equal.
std::vector<std::string> config_differences(const nlohmann::json& stored, const nlohmann::json& wanted);

}  // namespace cb::trial
