// `cifarbench models`: the zoo with parameters, MFLOPs and descriptions; `models show` prints one
// model's layer table; `models init` writes a model's harness-owned initial weights.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "backends/backend.h"
#include "cli/command.h"
#include "model/analysis.h"
#include "model/custom_model.h"
#include "model/initial_weights.h"
#include "model/weights_file.h"
#include "model/zoo.h"

namespace cb::cli {
namespace {

// 11173962 → "11,173,962"
std::string grouped(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string shape_text(const model::Shape& s) { return fmt::format("{}×{}×{}", s.c, s.h, s.w); }

// Display width, counting each UTF-8 character once (shapes use '×').
std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

std::string pad_right(const std::string& s, std::size_t width) {
  const auto w = display_width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

void list_models(int classes, bool json) {
  nlohmann::json models = nlohmann::json::array();
  for (const auto& name : model::zoo_names()) {
    const auto spec = model::build_zoo_model(name, classes);
    const auto flops = model::flop_count(spec);
    // Which available frameworks can build it, and why the others cannot.
    nlohmann::json frameworks = nlohmann::json::array();
    nlohmann::json cannot = nlohmann::json::object();
    for (const auto& b : backends::all_backends()) {
      const auto info = b->info();
      if (!info.available) continue;
      if (auto why = b->cannot_build(spec)) {
        cannot[info.name] = *why;
      } else {
        frameworks.push_back(info.name);
      }
    }
    models.push_back({{"name", name},
                      {"parameters", model::parameter_count(spec)},
                      {"flops", flops},
                      {"mflops", static_cast<double>(flops) / 1e6},
                      {"description", spec.description},
                      {"frameworks", frameworks},
                      {"cannot_build", cannot}});
  }
  if (json) {
    fmt::print("{}\n", nlohmann::json{{"num_classes", classes}, {"models", models}}.dump(2));
    return;
  }
  fmt::print("{:<12} {:>12} {:>9}  {:<24} {}\n", "MODEL", "PARAMETERS", "MFLOPS", "FRAMEWORKS",
             "DESCRIPTION");
  std::vector<std::string> notes;
  for (const auto& m : models) {
    std::string fws;
    for (const auto& f : m["frameworks"]) fws += (fws.empty() ? "" : ",") + f.get<std::string>();
    fmt::print("{:<12} {:>12} {:>9.1f}  {:<24} {}\n", m["name"].get<std::string>(),
               grouped(m["parameters"].get<std::int64_t>()), m["mflops"].get<double>(),
               fws.empty() ? "-" : fws, m["description"].get<std::string>());
    for (auto& [fw, why] : m["cannot_build"].items()) {
      notes.push_back(fmt::format("  {} cannot build {}: {}", fw, m["name"].get<std::string>(),
                                  why.get<std::string>()));
    }
  }
  if (!notes.empty()) {
    fmt::print("\n");
    for (const auto& n : notes) fmt::print("{}\n", n);
  }
  fmt::print(
      "\nFor {} classes; MFLOPs per 32×32 image, forward pass, a multiply-add counts 2. "
      "`models show NAME` prints the layers.\n",
      classes);
}

void show_model(const std::string& name, int classes, bool json) {
  const auto spec = model::resolve_model(name, classes);
  const auto costs = model::layer_costs(spec);
  std::int64_t parameters = 0, buffers = 0, flops = 0;
  for (const auto& c : costs) {
    parameters += c.parameters;
    buffers += c.buffers;
    flops += c.flops;
  }
  if (json) {
    nlohmann::json layers = nlohmann::json::array();
    for (std::size_t i = 0; i < spec.layers.size(); ++i) {
      const auto& l = spec.layers[i];
      layers.push_back({{"name", l.name},
                        {"output", {l.out.c, l.out.h, l.out.w}},
                        {"parameters", costs[i].parameters},
                        {"buffers", costs[i].buffers},
                        {"flops", costs[i].flops}});
    }
    fmt::print("{}\n", nlohmann::json{{"num_classes", classes},
                                      {"parameters", parameters},
                                      {"buffers", buffers},
                                      {"flops", flops},
                                      {"layers", layers},
                                      {"model", model::model_to_json(spec)}}
                           .dump(2));
    return;
  }
  fmt::print("{}: {}\n\n", spec.name, spec.description);
  std::size_t name_width = 4;
  for (const auto& l : spec.layers) name_width = std::max(name_width, l.name.size());
  fmt::print("{:>4}  {}  {:<15} {:<11} {:>10} {:>13}  {}\n", "#", pad_right("LAYER", name_width),
             "OP", "OUTPUT", "PARAMETERS", "FLOPS", "INPUTS");
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    const auto& l = spec.layers[i];
    std::string inputs;
    if (!l.inputs.empty()) {
      for (int k : l.inputs) {
        inputs += (inputs.empty() ? "" : ", ") + spec.layers[static_cast<std::size_t>(k)].name;
      }
    }
    std::string line =
        fmt::format("{:>4}  {}  {:<15} {} {:>10} {:>13}  {}", i, pad_right(l.name, name_width),
                    model::op_name(l.op), pad_right(shape_text(l.out), 11),
                    grouped(costs[i].parameters), grouped(costs[i].flops), inputs);
    line.erase(line.find_last_not_of(' ') + 1);
    fmt::print("{}\n", line);
  }
  fmt::print(
      "\n{} parameters (+ {} batch-norm statistics), {:.2f} MFLOPs per image "
      "({} classes; a multiply-add counts 2)\n",
      grouped(parameters), grouped(buffers), static_cast<double>(flops) / 1e6, classes);
}

void write_initial_weights(const std::string& name, int classes, std::uint64_t seed,
                           const std::string& out) {
  const auto spec = model::resolve_model(name, classes);
  const auto weights = model::initial_weights(spec, seed);
  model::save_weights(weights, out);
  fmt::print("wrote {} tensors ({} trainable values) of {} for seed {} to {}\n",
             weights.tensors.size(), grouped(weights.trainable_count()), spec.name, seed, out);
}

struct ModelsOptions {
  bool json = false;
  int classes = 10;
  std::string name;
  std::uint64_t seed = 0;
  std::string out;
};

const CommandRegistration models_registration{
    "models", 50, [](CLI::App& app) {
      auto opts = std::make_shared<ModelsOptions>();
      auto* cmd = app.add_subcommand(
          "models", "List the model zoo: parameters, MFLOPs per image and a description");
      cmd->add_flag("--json", opts->json, "print the list as JSON");
      cmd->add_option("--classes", opts->classes, "class count the models are built for")
          ->check(CLI::Range(1, 100000))
          ->capture_default_str();
      cmd->require_subcommand(0, 1);

      auto* show = cmd->add_subcommand(
          "show", "Print a model's layers with output shapes, parameters and FLOPs");
      show->add_option("name", opts->name, "a zoo name or a model file (.toml, .json)")->required();
      show->add_flag(
          "--json", opts->json,
          "print JSON: totals, per-layer costs, and the model in the custom-model format");
      show->add_option("--classes", opts->classes, "class count")
          ->check(CLI::Range(1, 100000))
          ->capture_default_str();
      show->callback([opts] { show_model(opts->name, opts->classes, opts->json); });

      auto* init = cmd->add_subcommand(
          "init", "Write a model's initial weights for a seed to a weights file (docs/models.md)");
      init->add_option("name", opts->name, "a zoo name or a model file (.toml, .json)")->required();
      init->add_option("--seed", opts->seed, "the seed the weights are drawn from")
          ->capture_default_str();
      init->add_option("-o,--out", opts->out, "the weights file to write")->required();
      init->add_option("--classes", opts->classes, "class count")
          ->check(CLI::Range(1, 100000))
          ->capture_default_str();
      init->callback(
          [opts] { write_initial_weights(opts->name, opts->classes, opts->seed, opts->out); });

      cmd->callback([cmd, show, init, opts] {
        if (cmd->got_subcommand(show) || cmd->got_subcommand(init)) return;
        list_models(opts->classes, opts->json);
      });
    }};

}  // namespace
}  // namespace cb::cli
