// A checkpoint's state.json, parsed and checked field by field (no trainer, no files), so that
// a malformed or edited one is refused naming the file and the field. Fuzzed by
// fuzz/checkpoint_state_fuzz.cpp.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trial/trial.h"

namespace cb::trial {

struct CheckpointState {
  int epoch = 0;                  // the last epoch completed; equals epochs.size()
  std::int64_t steps = 0;
  std::int64_t training_images = 0;
  double training_time_s = 0;
  std::optional<double> time_to_target_s;
  std::vector<EpochStats> epochs;  // epochs[i].epoch == i + 1
  std::optional<nlohmann::json> config;  // the configuration that wrote it (absent: older files)
};

// Parses state.json's text; `where` names it in errors. Throws InputError naming the field.
CheckpointState parse_checkpoint_state(const std::string& text, const std::string& where);

}  // namespace cb::trial
