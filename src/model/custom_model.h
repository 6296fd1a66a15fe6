// A user's own network, in the same spec as the zoo, from a TOML or JSON file (the format is in
// docs/models.md; configs/models/tiny-cnn.toml is an example).
#pragma once

#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "model/spec.h"

namespace cb::model {

// Builds a spec from a parsed model table; `source` names it in errors. Shapes are inferred,
// so an invalid model is refused naming its layer. A linear layer's `out_features = "classes"`
// takes `num_classes`.
ModelSpec model_from_table(const toml::table& table, const std::string& source, int num_classes);

// Builds a spec from JSON text in the same format; malformed JSON is refused with its offset.
ModelSpec model_from_json(const std::string& text, const std::string& source, int num_classes);

// The spec in the custom-model format (every attribute its op uses, inputs by name), so that a
// zoo model can be exported, edited and loaded back with load_model_file.
nlohmann::json model_to_json(const ModelSpec& spec);

// Reads a .toml or .json model file (by extension); InputError naming the file and the key.
ModelSpec load_model_file(const std::filesystem::path& path, int num_classes);

// A zoo name, or else a path to a model file: what every `--model` option accepts.
ModelSpec resolve_model(const std::string& name_or_path, int num_classes);

}  // namespace cb::model
