#include "trial/checkpoint.h"

#include <fmt/format.h>

#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "model/weights_file.h"

namespace cb::trial {
namespace {

nlohmann::json optional_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

EpochStats epoch_from_json(const nlohmann::json& j) {
  EpochStats e;
  e.epoch = j.at("epoch").get<int>();
  e.train_loss = j.at("train_loss").get<double>();
  e.train_accuracy = j.at("train_accuracy").get<double>();
  if (!j.at("test_accuracy").is_null()) e.test_accuracy = j["test_accuracy"].get<double>();
  if (!j.at("test_loss").is_null()) e.test_loss = j["test_loss"].get<double>();
  e.learning_rate = j.at("learning_rate").get<double>();
  e.epoch_time_s = j.at("epoch_time_s").get<double>();
  e.training_time_s = j.at("training_time_s").get<double>();
  e.eval_time_s = j.at("eval_time_s").get<double>();
  e.wall_time_s = j.at("wall_time_s").get<double>();
  e.images_per_s = j.at("images_per_s").get<double>();
  return e;
}

}  // namespace

CheckpointPaths::CheckpointPaths(const std::filesystem::path& out_dir)
    : dir(out_dir / "checkpoint"),
      model(dir / "model.weights"),
      optimizer(dir / "optimizer.weights"),
      state(dir / "state.json") {}

bool has_checkpoint(const CheckpointPaths& paths) { return std::filesystem::exists(paths.state); }

void save_checkpoint(const CheckpointPaths& paths, backends::Trainer& trainer,
                     const TrialOutcome& so_far, int epoch) {
  std::filesystem::create_directories(paths.dir);
  model::save_weights(trainer.export_weights(), paths.model);
  model::save_weights(trainer.export_optimizer_state(), paths.optimizer);
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& e : so_far.epochs) epochs.push_back(to_json(e));
  write_file_atomically(paths.state, nlohmann::json{{"epoch", epoch},
                                                    {"steps", so_far.steps},
                                                    {"training_images", so_far.training_images},
                                                    {"training_time_s", so_far.training_time_s},
                                                    {"time_to_target_s", optional_json(so_far.time_to_target_s)},
                                                    {"epochs", epochs}}
                                         .dump(2));
}

int load_checkpoint(const CheckpointPaths& paths, backends::Trainer& trainer, TrialOutcome& out) {
  std::ifstream in(paths.state);
  nlohmann::json state;
  try {
    state = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: unreadable checkpoint state: {}", paths.state.string(), e.what()));
  }
  trainer.import_weights(model::load_weights(paths.model));
  if (std::filesystem::exists(paths.optimizer)) {
    trainer.import_optimizer_state(model::load_weights(paths.optimizer));
  }
  for (const auto& e : state.at("epochs")) out.epochs.push_back(epoch_from_json(e));
  out.steps = state.at("steps").get<std::int64_t>();
  out.training_images = state.at("training_images").get<std::int64_t>();
  out.training_time_s = state.at("training_time_s").get<double>();
  if (!state.at("time_to_target_s").is_null()) out.time_to_target_s = state["time_to_target_s"].get<double>();
  if (!out.epochs.empty()) out.test_accuracy = out.epochs.back().test_accuracy;
  return state.at("epoch").get<int>();
}

}  // namespace cb::trial
