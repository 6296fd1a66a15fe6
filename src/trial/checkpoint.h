// A trial's checkpoint in out_dir/checkpoint/: model.weights, optimizer.weights and state.json
// (the epochs done, with their results). Saved after each epoch's results, so that a crash
// between the two redoes an epoch on resume rather than losing one.
#pragma once

#include <filesystem>

#include "backends/backend.h"
#include "trial/trial.h"

namespace cb::trial {

struct CheckpointPaths {
  std::filesystem::path dir, model, optimizer, state;
  explicit CheckpointPaths(const std::filesystem::path& out_dir);
};

// Saves the trainer's weights and optimizer state and the outcome so far (epochs, steps,
// training time) after `epoch`.
void save_checkpoint(const CheckpointPaths& paths, backends::Trainer& trainer,
                     const TrialOutcome& so_far, int epoch);

// Whether out_dir has a checkpoint to resume from.
bool has_checkpoint(const CheckpointPaths& paths);

// Loads the checkpoint into `trainer` and `out` (its epochs, steps, images, training time and
// time to target); returns the last epoch it completed. Throws InputError naming the file when
// it cannot be read.
int load_checkpoint(const CheckpointPaths& paths, backends::Trainer& trainer, TrialOutcome& out);

}  // namespace cb::trial
