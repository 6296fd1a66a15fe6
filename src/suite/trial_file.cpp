#include "suite/trial_file.h"

#include <fmt/format.h>

#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/input_file.h"
#include "trial/recipe.h"

namespace cb::suite {
namespace {

template <typename T>
T field(const nlohmann::json& j, const char* key, const std::filesystem::path& path) {
  if (!j.contains(key)) throw InputError(fmt::format("{}: missing key '{}'", path.string(), key));
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw InputError(fmt::format("{}: key '{}': wrong type ({})", path.string(), key, j.at(key).dump()));
  }
}

backends::ExecutionSettings execution_from_json(const nlohmann::json& j, const std::filesystem::path& path) {
  backends::ExecutionSettings x;
  x.device = field<std::string>(j, "device", path);
  x.threads = field<int>(j, "threads", path);
  const auto precision = backends::parse_mixed_precision(field<std::string>(j, "precision", path));
  if (!precision) throw InputError(fmt::format("{}: key 'execution.precision': expected off, fp16 or bf16", path.string()));
  x.precision = *precision;
  x.channels_last = field<bool>(j, "channels_last", path);
  x.deterministic = field<bool>(j, "deterministic", path);
  x.autotune = field<bool>(j, "autotune", path);
  x.xla = field<bool>(j, "xla", path);
  return x;
}

}  // namespace

nlohmann::json to_json(const TrialFile& t) {
  return {{"framework", t.framework},
          {"model", t.model},
          {"recipe", t.recipe.string()},
          {"seed", t.seed},
          {"batch_size", t.batch_size},
          {"execution", trial::to_json(t.execution)},
          {"dataset", t.dataset},
          {"data_path", t.data_path},
          {"synthetic_train", t.synthetic_train},
          {"synthetic_test", t.synthetic_test},
          {"processes", t.processes},
          {"time_limit_s", t.time_limit_s},
          {"out_dir", t.out_dir.string()},
          {"results_dir", t.results_dir.string()},
          {"suite_id", t.suite_id},
          {"key", t.key}};
}

void write_trial_file(const std::filesystem::path& path, const TrialFile& trial) {
  write_file_atomically(path, to_json(trial).dump(2) + "\n");
}

TrialFile read_trial_file(const std::filesystem::path& path) {
  const nlohmann::json j = nlohmann::json::parse(read_regular_file(path, "trial file", 1 << 20),
                                                 nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    throw InputError(fmt::format("--trial {}: not a JSON object (trial files are written by `cifarbench run`)",
                                 path.string()));
  }
  TrialFile t;
  t.framework = field<std::string>(j, "framework", path);
  t.model = field<std::string>(j, "model", path);
  t.recipe = field<std::string>(j, "recipe", path);
  t.seed = field<std::uint64_t>(j, "seed", path);
  t.batch_size = field<int>(j, "batch_size", path);
  if (!j.contains("execution") || !j["execution"].is_object()) {
    throw InputError(fmt::format("{}: key 'execution': expected a table of execution settings", path.string()));
  }
  t.execution = execution_from_json(j["execution"], path);
  t.dataset = field<std::string>(j, "dataset", path);
  t.data_path = field<std::string>(j, "data_path", path);
  t.synthetic_train = field<std::int64_t>(j, "synthetic_train", path);
  t.synthetic_test = field<std::int64_t>(j, "synthetic_test", path);
  t.processes = field<int>(j, "processes", path);
  t.time_limit_s = field<double>(j, "time_limit_s", path);
  t.out_dir = field<std::string>(j, "out_dir", path);
  t.results_dir = field<std::string>(j, "results_dir", path);
  t.suite_id = field<std::int64_t>(j, "suite_id", path);
  t.key = field<std::string>(j, "key", path);
  return t;
}

}  // namespace cb::suite
