// A training recipe: everything about how a model is trained that the harness owns (epochs,
// optimizer definition, learning-rate schedule, evaluation cadence, the input pipeline) plus
// the execution settings (threads, device, precision). Read from TOML (docs/recipes.md);
// command-line flags override single values.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>

#include "backends/backend.h"
#include "trial/schedule.h"
#include "data/pipeline_config.h"

namespace cb::trial {

struct Recipe {
  std::string name = "default";
  std::string source = "built-in defaults";  // the file it was read from
  int epochs = 10;
  int eval_every = 1;                        // evaluate every N epochs, and always at the end
  std::optional<double> target_accuracy;     // time-to-accuracy target, a fraction in (0, 1]
  int warmup_steps = 10;                     // excluded from throughput, counted in training time
  int max_steps_per_epoch = 0;               // > 0: a short run trains only this many steps an epoch
  int eval_images = 0;                       // > 0: evaluate on this many test images, evenly spaced
  double lr = 0.1;                           // the schedule's peak
  backends::OptimizerConfig optimizer;
  ScheduleConfig schedule;
  data::PipelineConfig pipeline;
  backends::ExecutionSettings execution;     // the [hardware] table
};

// Reads a recipe; unknown keys and out-of-range values are InputErrors naming the key.
Recipe parse_recipe(const toml::table& table, const std::string& source);
Recipe load_recipe(const std::filesystem::path& path);
nlohmann::json to_json(const Recipe& recipe);
nlohmann::json to_json(const backends::ExecutionSettings& execution);

}  // namespace cb::trial
