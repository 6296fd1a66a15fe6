#include "model/custom_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/config.h"
#include "core/error.h"
#include "core/input_file.h"
#include "model/analysis.h"
#include "model/zoo.h"

namespace cb::model {
namespace {

// JSON's data model is a subset of TOML's (apart from null), so one reader serves both formats.
void insert_json(toml::table& table, const std::string& key, const nlohmann::json& value,
                 const std::string& source, const std::string& path);

toml::array json_array(const nlohmann::json& value, const std::string& source,
                       const std::string& path) {
  toml::array out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto& el = value[i];
    const std::string where = fmt::format("{}[{}]", path, i);
    if (el.is_object()) {
      toml::table t;
      for (const auto& [k, v] : el.items()) insert_json(t, k, v, source, where + "." + k);
      out.push_back(std::move(t));
    } else if (el.is_array()) {
      out.push_back(json_array(el, source, where));
    } else if (el.is_boolean()) {
      out.push_back(el.get<bool>());
    } else if (el.is_number_integer()) {
      out.push_back(el.get<std::int64_t>());
    } else if (el.is_number()) {
      out.push_back(el.get<double>());
    } else if (el.is_string()) {
      out.push_back(el.get<std::string>());
    } else {
      throw InputError(fmt::format("{}: key '{}': null is not a value", source, where));
    }
  }
  return out;
}

void insert_json(toml::table& table, const std::string& key, const nlohmann::json& value,
                 const std::string& source, const std::string& path) {
  if (value.is_object()) {
    toml::table t;
    for (const auto& [k, v] : value.items()) insert_json(t, k, v, source, path + "." + k);
    table.insert_or_assign(key, std::move(t));
  } else if (value.is_array()) {
    table.insert_or_assign(key, json_array(value, source, path));
  } else if (value.is_boolean()) {
    table.insert_or_assign(key, value.get<bool>());
  } else if (value.is_number_integer()) {
    table.insert_or_assign(key, value.get<std::int64_t>());
  } else if (value.is_number()) {
    table.insert_or_assign(key, value.get<double>());
  } else if (value.is_string()) {
    table.insert_or_assign(key, value.get<std::string>());
  } else {
    throw InputError(fmt::format("{}: key '{}': null is not a value", source, path));
  }
}

toml::table parse_json(const std::string& text, const std::string& source) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(
        fmt::format("{}: byte offset {}: malformed JSON: {}", source, e.byte, e.what()));
  } catch (const nlohmann::json::exception& e) {  // e.g. a number too large for a double
    throw InputError(fmt::format("{}: malformed JSON: {}", source, e.what()));
  }
  if (!doc.is_object()) {
    throw InputError(fmt::format("{}: expected a JSON object at the top level", source));
  }
  toml::table table;
  for (const auto& [k, v] : doc.items()) insert_json(table, k, v, source, k);
  return table;
}

constexpr int kMaxSize = 1 << 20;  // channels, features, kernels: generous but overflow-safe

// A model must fit the machines it is meant for: each size is bounded on its own (kMaxSize),
// but their products are not, and a model of 10^13 parameters would pass shape inference and
// fail only when its weights are allocated. Counted in doubles, so no product overflows.
constexpr double kMaxParameters = 1u << 30;        // 4 GiB of float32 weights
constexpr double kMaxActivationElements = 1u << 28;  // one layer's output, per image (1 GiB)

void check_model_size(const ModelSpec& spec, const std::string& source) {
  for (const auto& l : spec.layers) {
    const double elements = static_cast<double>(l.out.c) * l.out.h * l.out.w;
    if (elements > kMaxActivationElements) {
      throw InputError(fmt::format("{}: layer '{}' outputs {}x{}x{} = {:.3g} values per image; at "
                                   "most {:.3g} are allowed",
                                   source, l.name, l.out.c, l.out.h, l.out.w, elements,
                                   kMaxActivationElements));
    }
  }
  double total = 0;
  for (const auto& p : parameter_shapes(spec)) {
    double n = 1;
    for (const auto d : p.shape) n *= static_cast<double>(d);
    total += n;
    if (total > kMaxParameters) {
      throw InputError(fmt::format("{}: the model has more than {:.3g} parameters (reached at "
                                   "tensor '{}' of shape {}); at most {:.3g} are allowed",
                                   source, kMaxParameters, p.name, fmt::join(p.shape, "x"),
                                   kMaxParameters));
    }
  }
}

// The indices of the layers named by the table's "inputs" among `earlier` (the last match).
std::vector<int> read_inputs(config::TableReader& r, const std::vector<std::string>& earlier) {
  std::vector<int> inputs;
  for (const auto& in : r.strings("inputs", {})) {
    int found = -1;
    for (std::size_t j = 0; j < earlier.size(); ++j) {
      if (earlier[j] == in) found = static_cast<int>(j);
    }
    if (found < 0) {
      r.fail("inputs", fmt::format("names of earlier layers ('input' or one defined above), "
                                   "got '{}'",
                                   in));
    }
    inputs.push_back(found);
  }
  return inputs;
}

// The attributes of `l.op` (kernel, stride, ...), each with its default and range.
void read_attributes(config::TableReader& r, const toml::table& raw, int num_classes, Layer& l) {
  const auto integer = [&](std::string_view key, int fallback, int min) {
    return static_cast<int>(r.integer(key, fallback, min, kMaxSize));
  };
  switch (l.op) {
    case Op::conv2d:
      l.out_channels = integer("out_channels", 0, 1);
      if (!r.has("out_channels")) r.fail("out_channels", "an integer (a conv2d needs it)");
      l.kernel = integer("kernel", 0, 1);
      if (!r.has("kernel")) r.fail("kernel", "an integer (a conv2d needs it)");
      l.stride = integer("stride", 1, 1);
      l.padding = integer("padding", 0, 0);
      l.groups = integer("groups", 1, 1);
      l.bias = r.boolean("bias", true);
      break;
    case Op::max_pool:
    case Op::avg_pool:
      l.kernel = integer("kernel", 0, 1);
      if (!r.has("kernel")) r.fail("kernel", "an integer (a pool needs it)");
      l.stride = integer("stride", l.kernel, 1);
      l.padding = integer("padding", 0, 0);
      break;
    case Op::batch_norm:
      l.momentum = r.number("momentum", 0.1, 0.0, 1.0);
      l.eps = r.number("eps", 1e-5, 1e-30, 1.0);
      l.affine = r.boolean("affine", true);
      break;
    case Op::linear: {
      const toml::node* out = raw.get("out_features");
      if (out && out->is_string()) {
        if (r.string("out_features", "") != "classes") {
          r.fail("out_features", "an integer or \"classes\"");
        }
        l.out_features = num_classes;
      } else {
        l.out_features = integer("out_features", 0, 1);
        if (!r.has("out_features")) r.fail("out_features", "an integer or \"classes\"");
      }
      l.bias = r.boolean("bias", true);
      break;
    }
    case Op::dropout:
      l.p = r.number("p", 0.5, 0.0, 0.999999);
      break;
    case Op::pad_channels:
      l.out_channels = integer("out_channels", 0, 1);
      if (!r.has("out_channels")) r.fail("out_channels", "an integer (pad_channels needs it)");
      break;
    case Op::subsample:
      l.stride = integer("stride", 0, 1);
      if (!r.has("stride")) r.fail("stride", "an integer (subsample needs it)");
      break;
    case Op::scale:
      l.scale = r.number("scale", 1.0, -1e30, 1e30);
      if (!r.has("scale")) r.fail("scale", "a number (scale needs it)");
      break;
    default:
      break;  // relu, gelu, global_avg_pool, flatten, add: nothing to configure
  }
}

Layer read_layer(config::TableReader& r, const toml::table& raw, int num_classes,
                 const std::vector<std::string>& earlier) {
  Layer l;
  l.name = r.string("name", "");
  if (l.name.empty()) r.fail("name", "a non-empty layer name");
  const std::string op_text = r.choice("op", "", op_names());
  l.op = *op_from_name(op_text);
  if (l.op == Op::input) r.fail("op", "any op but 'input' (the input layer is implicit)");
  l.inputs = read_inputs(r, earlier);
  read_attributes(r, raw, num_classes, l);
  r.reject_unknown_keys();
  return l;
}

}  // namespace

ModelSpec model_from_table(const toml::table& table, const std::string& source, int num_classes) {
  config::TableReader r(table, source);
  ModelSpec spec;
  spec.num_classes = num_classes;
  spec.name = r.string("name", "");
  if (spec.name.empty()) r.fail("name", "a non-empty model name");
  spec.description = r.string("description", "");
  const auto input = r.integers("input", {3, 32, 32});
  if (input.size() != 3) r.fail("input", "[channels, height, width]");
  for (auto v : input) {
    if (v < 1 || v > kMaxSize) r.fail("input", "three sizes, each at least 1");
  }
  spec.input = {static_cast<int>(input[0]), static_cast<int>(input[1]), static_cast<int>(input[2])};
  Layer in;
  in.name = "input";
  in.op = Op::input;
  spec.layers.push_back(in);
  std::vector<std::string> earlier = {"input"};

  // TableReader reads no arrays of tables, so this level checks its own keys.
  for (const auto& [k, v] : table) {
    const auto key = k.str();
    if (key != "name" && key != "description" && key != "input" && key != "layers") {
      throw InputError(
          fmt::format("{}: unknown key '{}' (known keys here: name, description, "
                      "input, layers)",
                      source, key));
    }
  }
  const toml::node* layers = table.get("layers");
  const toml::array* arr = layers ? layers->as_array() : nullptr;
  if (!arr || arr->empty()) r.fail("layers", "a non-empty array of layer tables ([[layers]])");
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::table* t = arr->get(i)->as_table();
    const std::string key = fmt::format("layers[{}]", i);
    if (!t) r.fail(key, "a layer table");
    config::TableReader lr(*t, source, key);
    spec.layers.push_back(read_layer(lr, *t, num_classes, earlier));
    earlier.push_back(spec.layers.back().name);
  }
  infer_shapes(spec);
  check_model_size(spec, source);
  return spec;
}

ModelSpec model_from_json(const std::string& text, const std::string& source, int num_classes) {
  return model_from_table(parse_json(text, source), source, num_classes);
}

nlohmann::json model_to_json(const ModelSpec& spec) {
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t i = 1; i < spec.layers.size(); ++i) {
    const Layer& l = spec.layers[i];
    nlohmann::json j = {{"name", l.name}, {"op", op_name(l.op)}};
    if (!l.inputs.empty()) {
      nlohmann::json names = nlohmann::json::array();
      for (int k : l.inputs) names.push_back(spec.layers[static_cast<std::size_t>(k)].name);
      j["inputs"] = names;
    }
    switch (l.op) {
      case Op::conv2d:
        j.update({{"out_channels", l.out_channels},
                  {"kernel", l.kernel},
                  {"stride", l.stride},
                  {"padding", l.padding},
                  {"groups", l.groups},
                  {"bias", l.bias}});
        break;
      case Op::max_pool:
      case Op::avg_pool:
        j.update({{"kernel", l.kernel}, {"stride", l.stride}, {"padding", l.padding}});
        break;
      case Op::batch_norm:
        j.update({{"momentum", l.momentum}, {"eps", l.eps}, {"affine", l.affine}});
        break;
      case Op::linear:
        j.update({{"out_features", l.out_features}, {"bias", l.bias}});
        break;
      case Op::dropout:
        j["p"] = l.p;
        break;
      case Op::pad_channels:
        j["out_channels"] = l.out_channels;
        break;
      case Op::subsample:
        j["stride"] = l.stride;
        break;
      case Op::scale:
        j["scale"] = l.scale;
        break;
      default:
        break;
    }
    layers.push_back(std::move(j));
  }
  return {{"name", spec.name},
          {"description", spec.description},
          {"input", {spec.input.c, spec.input.h, spec.input.w}},
          {"layers", std::move(layers)}};
}

ModelSpec load_model_file(const std::filesystem::path& path, int num_classes) {
  const std::string source = path.string();
  const auto ext = path.extension().string();
  if (ext == ".json") {
    return model_from_json(read_regular_file(path, "model file", std::uint64_t{64} << 20), source,
                           num_classes);
  }
  if (ext == ".toml") return model_from_table(config::parse_file(path), source, num_classes);
  throw InputError(fmt::format("{}: a model file must end in .toml or .json", source));
}

ModelSpec resolve_model(const std::string& name_or_path, int num_classes) {
  if (is_zoo_model(name_or_path)) return build_zoo_model(name_or_path, num_classes);
  const std::filesystem::path path(name_or_path);
  const auto ext = path.extension().string();
  if (ext == ".toml" || ext == ".json") return load_model_file(path, num_classes);
  throw InputError(
      fmt::format("unknown model '{}': expected one of {} or a model file "
                  "(.toml or .json)",
                  name_or_path, fmt::join(zoo_names(), ", ")));
}

}  // namespace cb::model
