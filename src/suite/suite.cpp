#include "suite/suite.h"

#include <fmt/format.h>

#include <fnmatch.h>

#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "backends/backend.h"
#include "trial/recipe.h"
#include "core/config.h"
#include "core/error.h"
#include "core/rng.h"
#include "model/custom_model.h"
#include "model/zoo.h"

namespace cb::suite {
namespace {

// Copies every key of `defaults` that `target` lacks, recursing into sub-tables.
void merge_defaults(toml::table& target, const toml::table& defaults) {
  for (const auto& [key, value] : defaults) {
    if (auto* existing = target.get(key)) {
      if (existing->is_table() && value.is_table()) {
        merge_defaults(*existing->as_table(), *value.as_table());
      }
    } else {
      target.insert(key, value);
    }
  }
}

// The class count of a suite's dataset (what a model's `out_features = "classes"` becomes).
int dataset_classes(const std::string& dataset) {
  if (dataset == "cifar100") return 100;
  if (dataset == "cifar100-coarse") return 20;
  return 10;
}

template <typename T>
std::vector<T> positive_ints(config::TableReader& r, std::string_view key, std::vector<T> fallback,
                             std::int64_t min, std::int64_t max) {
  std::vector<std::int64_t> def(fallback.begin(), fallback.end());
  std::vector<T> out;
  for (auto v : r.integers(key, def)) {
    if (v < min || v > max) r.fail(key, fmt::format("integers in [{}, {}], got {}", min, max, v));
    out.push_back(static_cast<T>(v));
  }
  if (out.empty()) r.fail(key, "a non-empty list");
  return out;
}
// matrix.models: zoo names, or model files relative to the suite. Custom models are read and
// checked now, so that an invalid one fails planning (and --dry-run) rather than every trial;
// the class count only sizes the last layer.
std::vector<std::string> read_models(config::TableReader& matrix, const std::filesystem::path& base_dir,
                                     const std::string& dataset, const std::string& source) {
  std::vector<std::string> models = matrix.strings("models", {});
  if (models.empty()) matrix.fail("models", "a non-empty list of zoo names or model files");
  for (auto& m : models) {
    if (model::is_zoo_model(m)) continue;
    const std::filesystem::path p = base_dir / m;
    if (!std::filesystem::exists(p)) {
      matrix.fail("models", fmt::format("zoo names ({}) or model files; '{}' is neither",
                                        fmt::join(model::zoo_names(), ", "), m));
    }
    m = p.string();
    try {
      (void)model::resolve_model(m, dataset_classes(dataset));
    } catch (const InputError& e) {
      const std::string what = e.what();
      throw InputError(what.find(m) != std::string::npos
                           ? what
                           : fmt::format("{}: key 'matrix.models': {}: {}", source, m, what));
    }
  }
  return models;
}
// `seeds = "auto"` with its [auto_seeds] table.
void read_auto_seeds(Suite& s, config::TableReader& root, config::TableReader& matrix) {
  if (matrix.string("seeds", "") != "auto") matrix.fail("seeds", "a list of non-negative integers, or \"auto\"");
  AutoSeeds a;
  if (auto t = root.table("auto_seeds")) {
    a.min = static_cast<int>(t->integer("min", a.min, 2, 1000));
    a.max = static_cast<int>(t->integer("max", a.max, 2, 1000));
    a.metric = t->choice("metric", a.metric, {"accuracy", "throughput"});
    a.half_width = t->number("half_width", a.metric == "accuracy" ? 0.5 : 5.0, 1e-6, 1e6);
    if (a.max < a.min) t->fail("max", fmt::format("a value ≥ min ({})", a.min));
    t->reject_unknown_keys();
  }
  for (int seed = 1; seed <= a.min; ++seed) s.seeds.push_back(static_cast<std::uint64_t>(seed));
  s.auto_seeds = a;
}

}  // namespace

Suite parse_suite(const toml::table& table, const std::string& source,
                  const std::filesystem::path& base_dir) {
  Suite s;
  s.file = source;
  s.source = table;
  config::TableReader root(table, source);
  s.name = root.string("name", std::filesystem::path(source).stem().string());
  s.description = root.string("description", "");
  s.dataset = root.string("dataset", s.dataset);
  s.synthetic_fallback = root.boolean("synthetic_fallback", false);
  s.time_limit_s = root.number("time_limit_s", s.time_limit_s, 1, 1e7);
  s.synthetic_train = root.integer("synthetic_train", 0, 0, 10000000);
  s.synthetic_test = root.integer("synthetic_test", 0, 0, 10000000);
  s.order = *parse_trial_order(root.choice("order", "interleaved", {"interleaved", "grid"}));
  if (root.has("order_seed")) {
    s.order_seed = static_cast<std::uint64_t>(
        root.integer("order_seed", 0, 0, std::numeric_limits<std::int64_t>::max()));
  }

  // [defaults] is merged under every recipe and validated as part of each below.
  toml::table defaults;
  if (const auto* d = table.get_as<toml::table>("defaults")) defaults = *d;

  auto matrix = root.table("matrix");
  if (!matrix) root.fail("matrix", "a [matrix] table with frameworks, models, recipes and seeds");
  s.frameworks = matrix->strings("frameworks", {"available"});
  s.models = read_models(*matrix, base_dir, s.dataset, source);
  const std::vector<std::string> recipe_names = matrix->strings("recipes", {"default"});
  const toml::node* seeds_node = table.at_path("matrix.seeds").node();
  if (seeds_node && seeds_node->is_string()) {
    read_auto_seeds(s, root, *matrix);
  } else {
    const std::vector<std::int64_t> seeds = matrix->integers("seeds", {1});
    for (auto v : seeds) {
      if (v < 0) matrix->fail("seeds", "non-negative integers");
      s.seeds.push_back(static_cast<std::uint64_t>(v));
    }
    if (s.seeds.empty()) matrix->fail("seeds", "a non-empty list");
  }
  s.threads = positive_ints<int>(*matrix, "threads", s.threads, 0, 4096);
  s.batch_sizes = positive_ints<int>(*matrix, "batch_sizes", s.batch_sizes, 0, 1 << 20);
  s.processes = positive_ints<int>(*matrix, "processes", s.processes, 1, 4096);
  s.devices = matrix->strings("devices", s.devices);
  matrix->reject_unknown_keys();

  // Recipes: [recipes.NAME] tables in the suite, or recipe files relative to the suite.
  auto recipes = root.table("recipes");
  const toml::table* recipe_tables = table.get_as<toml::table>("recipes");
  for (const auto& name : recipe_names) {
    SuiteRecipe r;
    r.name = name;
    if (recipe_tables && recipe_tables->get_as<toml::table>(name)) {
      r.table = *recipe_tables->get_as<toml::table>(name);
      recipes->table(name);  // mark as read
    } else if (std::filesystem::exists(base_dir / name)) {
      r.table = config::parse_file(base_dir / name);
      r.name = std::filesystem::path(name).stem().string();
    } else if (name == "default") {
      r.table = toml::table{};  // the built-in default recipe (docs/recipes.md)
    } else {
      matrix->fail("recipes", fmt::format("names of [recipes.NAME] tables, recipe files or "
                                          "\"default\"; '{}' is none of these", name));
    }
    merge_defaults(r.table, defaults);
    if (!r.table.contains("name")) r.table.insert("name", r.name);
    r.execution = trial::parse_recipe(r.table, fmt::format("{} (recipe '{}')", source, r.name)).execution;
    s.recipes.push_back(std::move(r));
  }
  if (recipes) {
    for (const auto& [key, value] : *recipe_tables) {
      (void)value;
      recipes->table(key.str());  // unused recipe tables are allowed (shared files)
    }
  }
  if (auto executor = root.table("executor")) s.executor = parse_executor(*executor);
  root.table("defaults");
  root.reject_unknown_keys();
  return s;
}

Suite load_suite(const std::filesystem::path& path) {
  return parse_suite(config::parse_file(path), path.string(), path.parent_path());
}

namespace {

// Why "available" left a framework out, in one line: the suite did not name it, and its whole
// reason (every library path tried, how to install it) can run to ten lines that `cifarbench
// env` prints anyway.
std::string unavailable_in_brief(const backends::BackendInfo& info) {
  const auto end = info.unavailable_reason.find('\n');
  if (end == std::string::npos) return fmt::format("{}: unavailable: {}", info.name, info.unavailable_reason);
  return fmt::format("{}: unavailable: {} … (`cifarbench env` gives the whole reason)", info.name,
                     info.unavailable_reason.substr(0, end));
}

// The frameworks a suite names, "available" expanded; unavailable ones explained in `skipped`
// (in one line each where "available" left them out, whole where the suite named them).
std::vector<std::string> suite_frameworks(const Suite& suite, std::vector<std::string>* skipped) {
  std::vector<std::string> frameworks;
  std::set<std::string> seen;
  for (const auto& f : suite.frameworks) {
    if (f == "available") {
      for (const auto& b : backends::all_backends()) {
        const auto info = b->info();
        if (info.available && seen.insert(info.name).second) frameworks.push_back(info.name);
        if (!info.available && skipped) skipped->push_back(unavailable_in_brief(info));
      }
    } else {
      const backends::Backend* b = backends::find_backend(f);
      if (!b) {
        throw InputError(fmt::format("{}: key 'matrix.frameworks': unknown framework '{}' (valid: "
                                     "available, {})", suite.file, f, backends::backend_names()));
      }
      if (!seen.insert(f).second) continue;
      const auto info = b->info();
      if (!info.available) {  // left out with a warning, as "available" leaves it out
        if (skipped) skipped->push_back(fmt::format("{}: unavailable: {}", f, info.unavailable_reason));
        continue;
      }
      frameworks.push_back(f);
    }
  }
  return frameworks;
}

// Why `backend` cannot run trial `p` (asked before any process starts), or nullopt. Slurm jobs
// run on other machines than the one planning them (a login node has no GPU): there the job
// itself answers for its execution settings, and fails with the backend's reason.
std::optional<std::string> cannot_run(const backends::Backend& backend, const PlannedTrial& p,
                                      ExecutorKind executor) {
  if (p.processes > 1 && !backend.supports_distributed()) {
    return fmt::format("{} trains in one process only (processes = {})", p.framework, p.processes);
  }
  if (executor == ExecutorKind::slurm) return std::nullopt;
  return backend.unsupported(p.execution);
}

}  // namespace

std::vector<PlannedTrial> plan_trials(const Suite& suite, std::vector<std::string>* skipped) {
  const std::vector<std::string> frameworks = suite_frameworks(suite, skipped);
  const bool vary_threads = suite.threads.size() > 1;
  const bool vary_batch = suite.batch_sizes.size() > 1;
  const bool vary_device = suite.devices.size() > 1;
  const bool vary_procs = suite.processes.size() > 1;
  std::vector<PlannedTrial> out;
  for (const auto& fw : frameworks) {
    const backends::Backend* backend = backends::find_backend(fw);
    for (const auto& m : suite.models) {
      const int classes = dataset_classes(suite.dataset);
      const model::ModelSpec spec =
          model::is_zoo_model(m) ? model::build_zoo_model(m, classes) : model::resolve_model(m, classes);
      const std::string model_label = std::filesystem::path(m).stem().string();
      if (auto why = backend->cannot_build(spec)) {
        if (skipped) skipped->push_back(fmt::format("{}/{}: {}", fw, model_label, *why));
        continue;
      }
      for (const auto& r : suite.recipes)
        for (auto seed : suite.seeds)
          for (int t : suite.threads)
            for (int bs : suite.batch_sizes)
              for (const auto& dev : suite.devices)
                for (int np : suite.processes) {
                  PlannedTrial p{"", fw, m, r.name, seed, t, bs, dev, np, r.execution};
                  p.execution.threads = t;
                  p.execution.device = dev;
                  p.key = fmt::format("{}/{}/{}/seed={}", fw, model_label, r.name, seed);
                  if (vary_threads) p.key += fmt::format("/threads={}", t);
                  if (vary_batch) p.key += fmt::format("/batch={}", bs);
                  if (vary_device) p.key += fmt::format("/device={}", dev);
                  if (vary_procs) p.key += fmt::format("/processes={}", np);
                  if (auto why = cannot_run(*backend, p, suite.executor.kind)) {
                    if (skipped) skipped->push_back(fmt::format("{}: skipped: {}", p.key, *why));
                    continue;
                  }
                  out.push_back(std::move(p));
                }
    }
  }
  // Two trials with one key would write into one row and one directory: the second would
  // silently replace the first. A list that names a value twice is refused here.
  std::set<std::string> keys;
  for (const auto& p : out) {
    if (!keys.insert(p.key).second) {
      throw InputError(fmt::format(
          "{}: key 'matrix': trial '{}' is planned twice (a value of matrix.seeds, models, "
          "recipes, threads, batch_sizes, devices or processes is listed twice, or two model "
          "files share a name); every trial must be distinct",
          suite.file, p.key));
    }
  }
  return out;
}

std::string_view to_string(TrialOrder order) {
  return order == TrialOrder::grid ? "grid" : "interleaved";
}

std::optional<TrialOrder> parse_trial_order(std::string_view name) {
  if (name == "interleaved") return TrialOrder::interleaved;
  if (name == "grid") return TrialOrder::grid;
  return std::nullopt;
}

std::vector<PlannedTrial> order_trials(std::vector<PlannedTrial> trials, TrialOrder order,
                                       std::uint64_t seed) {
  if (order == TrialOrder::grid) return trials;
  // A configuration is a key without its seed; its n-th trial (in the suite's seed order) goes
  // to round n.
  std::map<std::string, int> seen;
  std::vector<std::vector<PlannedTrial>> rounds;
  for (auto& t : trials) {
    std::string config = t.key;
    const std::string tag = fmt::format("/seed={}", t.seed);
    if (const auto at = config.find(tag); at != std::string::npos) config.erase(at, tag.size());
    const auto round = static_cast<std::size_t>(seen[config]++);
    if (rounds.size() <= round) rounds.resize(round + 1);
    rounds[round].push_back(std::move(t));
  }
  std::vector<PlannedTrial> out;
  for (std::size_t r = 0; r < rounds.size(); ++r) {
    auto& round = rounds[r];
    Rng rng(seed, {0x6f72646572ULL /* "order" */, r});
    for (std::size_t i = round.size(); i > 1; --i) {  // Fisher-Yates
      std::swap(round[i - 1], round[static_cast<std::size_t>(rng.below(i))]);
    }
    for (auto& t : round) out.push_back(std::move(t));
  }
  return out;
}

std::vector<PlannedTrial> filter_trials(const std::vector<PlannedTrial>& trials,
                                        const std::string& pattern) {
  if (pattern.empty()) return trials;
  const bool glob = pattern.find_first_of("*?[") != std::string::npos;
  std::vector<PlannedTrial> out;
  for (const auto& t : trials) {
    const bool match = glob ? fnmatch(pattern.c_str(), t.key.c_str(), 0) == 0
                            : t.key.find(pattern) != std::string::npos;
    if (match) out.push_back(t);
  }
  return out;
}

std::string recipe_toml(const Suite& suite, const std::string& name) {
  for (const auto& r : suite.recipes) {
    if (r.name == name) {
      std::ostringstream out;
      out << toml::toml_formatter(r.table);
      return out.str() + "\n";
    }
  }
  throw InputError(fmt::format("{}: no recipe '{}'", suite.file, name));
}

}  // namespace cb::suite
