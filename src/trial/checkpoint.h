// A trial's checkpoint in out_dir/checkpoint/: model.weights, optimizer.weights and state.json
// (the epochs done, with their results). Saved after each epoch's results, so that a crash
// between the two redoes an epoch on resume rather than losing one.
#pragma once

#include <filesystem>

#include "backends/backend.h"
#include "trial/checkpoint_state.h"
#include "trial/trial.h"

namespace cb::trial {

struct CheckpointPaths {
  std::filesystem::path dir, model, optimizer, state;
  explicit CheckpointPaths(const std::filesystem::path& out_dir);
};

// What a checkpoint records of the trial that wrote it, compared on resume (config_diff.h):
// framework, model, seed, dataset (and synthetic sizes), world size and the recipe, except its
// epoch count (resuming may extend a trial), its source path and the input pipeline's thread
// counts (neither changes a batch).
nlohmann::json checkpoint_config(const TrialSpec& spec);

// Saves the trainer's weights and optimizer state, the outcome so far (epochs, steps, training
// time) after `epoch`, and `config` (checkpoint_config of the trial).
void save_checkpoint(const CheckpointPaths& paths, backends::Trainer& trainer,
                     const TrialOutcome& so_far, int epoch, const nlohmann::json& config);

// Whether out_dir has a checkpoint to resume from.
bool has_checkpoint(const CheckpointPaths& paths);

// state.json, checked: an object whose fields have their types (`epoch` an integer from 0 to
// the number of stored epochs, which it must equal). Throws InputError naming the file and the
// field otherwise.
CheckpointState read_checkpoint_state(const CheckpointPaths& paths);

// Loads the checkpoint (its `state`, from read_checkpoint_state) into `trainer` and `out` (its
// epochs, steps, images, training time and time to target); returns the last epoch it
// completed. Throws InputError naming the file when it cannot be read.
int load_checkpoint(const CheckpointPaths& paths, const CheckpointState& state,
                    backends::Trainer& trainer, TrialOutcome& out);

}  // namespace cb::trial
