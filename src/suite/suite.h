// Suite files (TOML): frameworks × models × recipes × seeds (× threads, batch sizes, devices,
// processes), a defaults section merged under every recipe, and a per-trial time limit. The
// planner expands them into trials with stable keys. Format: docs/suites.md.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "suite/executor.h"

namespace cb::suite {

struct PlannedTrial {
  std::string key;        // "torch/resnet20/default/seed=1" (+ "/threads=2" … for varied dims)
  std::string framework;
  std::string model;
  std::string recipe;     // the recipe's name
  std::uint64_t seed = 0;
  int threads = 0;        // 0: all cores
  int batch_size = 0;     // 0: the recipe's
  std::string device = "cpu";
  int processes = 1;
  backends::ExecutionSettings execution;  // the recipe's, with this trial's threads and device
};

struct SuiteRecipe {
  std::string name;
  toml::table table;      // the recipe with the suite's defaults merged under it
  backends::ExecutionSettings execution;  // its [hardware] table, parsed
};

// The order trials run in (docs/suites.md). Interleaved: round k runs every configuration's
// k-th seed, each round in a seeded random order, so that drift and other load on the machine
// fall on every framework alike (asv's interleaved rounds, Google Benchmark's random
// interleaving). Grid: the matrix's nesting order (framework, model, recipe, seed, ...).
enum class TrialOrder { interleaved, grid };
std::string_view to_string(TrialOrder order);
std::optional<TrialOrder> parse_trial_order(std::string_view name);

// `seeds = "auto"` (docs/suites.md): run `min` seeds, then add one round of seeds at a time
// (interleaved) until the 95 % CI of every framework difference of `metric` is at most
// `half_width` wide on each side, or `max` seeds ran.
struct AutoSeeds {
  int min = 3;
  int max = 10;
  std::string metric = "accuracy";  // accuracy (half_width in points) or throughput (in %)
  double half_width = 0.5;
};

struct Suite {
  std::string name;
  std::string description;
  std::string file;                   // where it was read from
  std::string dataset = "cifar10";    // cifar10, cifar100, ... or synthetic
  bool synthetic_fallback = false;    // offline machines: use synthetic data, with a banner
  double time_limit_s = 3600;         // per trial
  TrialOrder order = TrialOrder::interleaved;
  std::optional<std::uint64_t> order_seed;  // absent: drawn at random when the suite runs
  std::int64_t synthetic_train = 0;   // synthetic data's training images (0: the generator's default)
  std::int64_t synthetic_test = 0;    // and test images
  std::vector<std::string> frameworks;  // may contain "available"
  std::vector<std::string> models;
  std::vector<SuiteRecipe> recipes;
  std::vector<std::uint64_t> seeds;   // with auto_seeds: 1 .. min
  std::optional<AutoSeeds> auto_seeds;
  std::vector<int> threads{0};
  std::vector<int> batch_sizes{0};
  std::vector<std::string> devices{"cpu"};
  std::vector<int> processes{1};
  ExecutorSettings executor;          // [executor]: local child processes or Slurm jobs
  toml::table source;                 // the whole file, stored with the results
};

// Reads and checks a suite file (recipes are parsed here, so a bad one fails before any run).
Suite load_suite(const std::filesystem::path& path);
Suite parse_suite(const toml::table& table, const std::string& source,
                  const std::filesystem::path& base_dir);

// Expands the matrix into trials. "available" stands for every backend available here; a
// framework that is unavailable or cannot build a model is left out and explained in `skipped`.
std::vector<PlannedTrial> plan_trials(const Suite& suite, std::vector<std::string>* skipped);

// `trials` (in plan_trials' order) in the run order: unchanged for grid; for interleaved,
// grouped into rounds by seed (a configuration's first seed in round 1, ...) and each round
// shuffled with a generator seeded from `seed` and the round number.
std::vector<PlannedTrial> order_trials(std::vector<PlannedTrial> trials, TrialOrder order,
                                       std::uint64_t seed);

// Keeps the trials whose key matches `pattern` (a substring, or a glob with * and ?).
std::vector<PlannedTrial> filter_trials(const std::vector<PlannedTrial>& trials,
                                        const std::string& pattern);

// The suite's recipe `name` as TOML text (written beside each trial for its child process).
std::string recipe_toml(const Suite& suite, const std::string& name);

}  // namespace cb::suite
