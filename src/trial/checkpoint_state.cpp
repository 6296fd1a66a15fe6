#include "trial/checkpoint_state.h"

#include <fmt/format.h>

#include <limits>
#include <type_traits>

#include "core/error.h"

namespace cb::trial {
namespace {

// The field `key` of object `j` as a T; InputError naming the file and the field otherwise.
template <typename T>
T field(const nlohmann::json& j, const std::string& key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) {
    throw InputError(fmt::format("{}: field '{}' is missing", where, key));
  }
  const nlohmann::json& v = j[key];
  const bool ok = std::is_same_v<T, double> ? v.is_number()
                                            : (v.is_number_integer() || v.is_number_unsigned());
  if (!ok) {
    throw InputError(fmt::format("{}: field '{}' is {}; expected {}", where, key, v.dump(),
                                 std::is_same_v<T, double> ? "a number" : "an integer"));
  }
  if constexpr (std::is_same_v<T, int>) {
    const bool fits = v.is_number_unsigned() ? v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<int>::max())
                                             : v.get<std::int64_t>() >= std::numeric_limits<int>::min() &&
                                                   v.get<std::int64_t>() <= std::numeric_limits<int>::max();
    if (!fits) throw InputError(fmt::format("{}: field '{}' is {}; out of range", where, key, v.dump()));
  }
  return v.get<T>();
}

std::optional<double> optional_field(const nlohmann::json& j, const std::string& key,
                                     const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  return field<double>(j, key, where);
}

EpochStats epoch_from_json(const nlohmann::json& j, const std::string& where) {
  EpochStats e;
  e.epoch = field<int>(j, "epoch", where);
  e.train_loss = field<double>(j, "train_loss", where);
  e.train_accuracy = field<double>(j, "train_accuracy", where);
  e.test_accuracy = optional_field(j, "test_accuracy", where);
  e.test_loss = optional_field(j, "test_loss", where);
  e.learning_rate = field<double>(j, "learning_rate", where);
  e.epoch_time_s = field<double>(j, "epoch_time_s", where);
  e.training_time_s = field<double>(j, "training_time_s", where);
  e.eval_time_s = field<double>(j, "eval_time_s", where);
  e.wall_time_s = field<double>(j, "wall_time_s", where);
  e.images_per_s = field<double>(j, "images_per_s", where);
  return e;
}

}  // namespace

CheckpointState parse_checkpoint_state(const std::string& text, const std::string& where) {
  const nlohmann::json state = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (state.is_discarded() || !state.is_object()) {
    throw InputError(fmt::format("{}: unreadable checkpoint state: not a JSON object", where));
  }
  CheckpointState out;
  out.epoch = field<int>(state, "epoch", where);
  if (!state.contains("epochs") || !state["epochs"].is_array()) {
    throw InputError(fmt::format("{}: field 'epochs' is missing or not a list", where));
  }
  const auto& epochs = state["epochs"];
  if (out.epoch < 0 || static_cast<std::size_t>(out.epoch) != epochs.size()) {
    throw InputError(fmt::format("{}: field 'epoch' is {} but the checkpoint holds {} epoch(s)",
                                 where, out.epoch, epochs.size()));
  }
  out.steps = field<std::int64_t>(state, "steps", where);
  out.training_images = field<std::int64_t>(state, "training_images", where);
  out.training_time_s = field<double>(state, "training_time_s", where);
  out.time_to_target_s = optional_field(state, "time_to_target_s", where);
  for (std::size_t i = 0; i < epochs.size(); ++i) {
    const std::string at = fmt::format("{}: epochs[{}]", where, i);
    out.epochs.push_back(epoch_from_json(epochs[i], at));
    if (out.epochs.back().epoch != static_cast<int>(i) + 1) {
      throw InputError(fmt::format("{}: field 'epoch' is {}; expected {}", at,
                                   out.epochs.back().epoch, i + 1));
    }
  }
  if (state.contains("config")) {
    if (!state["config"].is_object()) {
      throw InputError(fmt::format("{}: field 'config' is not an object", where));
    }
    out.config = state["config"];
  }
  return out;
}

}  // namespace cb::trial
