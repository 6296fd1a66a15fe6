#include "trial/checkpoint.h"

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/input_file.h"
#include "core/json_value.h"
#include "model/weights_file.h"

namespace cb::trial {

CheckpointPaths::CheckpointPaths(const std::filesystem::path& out_dir)
    : dir(out_dir / "checkpoint"),
      model(dir / "model.weights"),
      optimizer(dir / "optimizer.weights"),
      state(dir / "state.json") {}

bool has_checkpoint(const CheckpointPaths& paths) { return std::filesystem::exists(paths.state); }

nlohmann::json checkpoint_config(const TrialSpec& spec) {
  nlohmann::json recipe = to_json(spec.recipe);
  recipe.erase("source");
  if (recipe.contains("train")) recipe["train"].erase("epochs");
  if (recipe.contains("pipeline") && recipe["pipeline"].contains("data")) {
    recipe["pipeline"]["data"].erase("workers");
    recipe["pipeline"]["data"].erase("prefetch");
  }
  nlohmann::json config = {{"framework", spec.framework},
                           {"model", spec.model},
                           {"seed", spec.seed},
                           {"dataset", spec.data.dataset},
                           {"world_size", spec.shard.world_size},
                           {"recipe", recipe}};
  if (spec.data.dataset == "synthetic") {
    config["synthetic"] = {{"train", spec.data.synthetic.train_count},
                           {"test", spec.data.synthetic.test_count}};
  }
  return config;
}

void save_checkpoint(const CheckpointPaths& paths, backends::Trainer& trainer,
                     const TrialOutcome& so_far, int epoch, const nlohmann::json& config) {
  std::filesystem::create_directories(paths.dir);
  model::save_weights(trainer.export_weights(), paths.model);
  model::save_weights(trainer.export_optimizer_state(), paths.optimizer);
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& e : so_far.epochs) epochs.push_back(to_json(e));
  write_file_atomically(paths.state,
                        nlohmann::json{{"epoch", epoch},
                                       {"steps", so_far.steps},
                                       {"training_images", so_far.training_images},
                                       {"training_time_s", so_far.training_time_s},
                                       {"time_to_target_s", or_null(so_far.time_to_target_s)},
                                       {"config", config},
                                       {"epochs", epochs}}
                            .dump(2));
}

CheckpointState read_checkpoint_state(const CheckpointPaths& paths) {
  return parse_checkpoint_state(read_regular_file(paths.state, "checkpoint state", 256 << 20),
                                paths.state.string());
}

int load_checkpoint(const CheckpointPaths& paths, const CheckpointState& state,
                    backends::Trainer& trainer, TrialOutcome& out) {
  trainer.import_weights(model::load_weights(paths.model));
  if (std::filesystem::exists(paths.optimizer)) {
    trainer.import_optimizer_state(model::load_weights(paths.optimizer));
  }
  out.epochs = state.epochs;
  out.steps = state.steps;
  out.training_images = state.training_images;
  out.training_time_s = state.training_time_s;
  out.time_to_target_s = state.time_to_target_s;
  if (!out.epochs.empty()) out.test_accuracy = out.epochs.back().test_accuracy;
  return state.epoch;
}

}  // namespace cb::trial
