#include "results/reference_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/input_file.h"
#include "results/statistics.h"

namespace cb::results {

nlohmann::json reference_to_json(const ReferenceCurve& ref) {
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& e : ref.epochs) {
    const double sd = sample_stddev(e.values);
    epochs.push_back({{"epoch", e.epoch},
                      {"n", e.values.size()},
                      {"mean", mean(e.values)},
                      {"sd", std::isnan(sd) ? nlohmann::json(nullptr) : nlohmann::json(sd)},
                      {"values", e.values}});
  }
  return {{"format", kReferenceFormat},
          {"version", kReferenceVersion},
          {"name", ref.name},
          {"metric", "test_accuracy"},
          {"model", ref.model},
          {"recipe", ref.recipe},
          {"dataset", ref.dataset},
          {"synthetic", ref.synthetic},
          {"frameworks", ref.frameworks},
          {"seeds", ref.seeds},
          {"trials", ref.trials},
          {"source", ref.source},
          {"created", ref.created},
          {"recipe_config", ref.recipe_config},
          {"machine", ref.machine},
          {"epochs", std::move(epochs)}};
}

namespace {

template <typename T>
T field(const nlohmann::json& j, const std::string& key, const std::string& where,
        const char* expected) {
  if (!j.is_object() || !j.contains(key)) {
    throw InputError(fmt::format("{}: missing field '{}' (expected {})", where, key, expected));
  }
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw InputError(
        fmt::format("{}: field '{}' is {}, expected {}", where, key, j.at(key).dump(), expected));
  }
}

EpochValues epoch_from_json(const nlohmann::json& row, const std::string& where) {
  EpochValues e;
  e.epoch = field<int>(row, "epoch", where, "an epoch number >= 1");
  const std::string at = fmt::format("{} (epoch {})", where, e.epoch);
  if (e.epoch < 1) throw InputError(fmt::format("{}: epoch must be >= 1", at));
  e.values = field<std::vector<double>>(row, "values", at, "an array of accuracies in [0, 1]");
  for (double v : e.values) {
    if (!(v >= 0 && v <= 1)) {
      throw InputError(fmt::format("{}: value {} is not an accuracy in [0, 1]", at, v));
    }
  }
  if (e.values.empty()) throw InputError(fmt::format("{}: 'values' is empty", at));
  const auto n = field<std::size_t>(row, "n", at, "the number of values");
  if (n != e.values.size()) {
    throw InputError(fmt::format("{}: n is {} but 'values' holds {}", at, n, e.values.size()));
  }
  const double stated = field<double>(row, "mean", at, "the mean of 'values'");
  if (std::fabs(stated - mean(e.values)) > 1e-6) {
    throw InputError(fmt::format("{}: mean is {} but 'values' average {} (edit both)", at, stated,
                                 mean(e.values)));
  }
  return e;
}

}  // namespace

ReferenceCurve reference_from_json(const nlohmann::json& j, const std::string& where) {
  if (field<std::string>(j, "format", where, "\"cifarbench-reference\"") != kReferenceFormat) {
    throw InputError(fmt::format("{}: not a reference curve (format is {}, expected \"{}\")", where,
                                 j.at("format").dump(), kReferenceFormat));
  }
  const int version = field<int>(j, "version", where, "a format version");
  if (version < 1 || version > kReferenceVersion) {
    throw InputError(fmt::format("{}: format version {} is not one this build reads (1 to {})",
                                 where, version, kReferenceVersion));
  }
  ReferenceCurve ref;
  ref.name = field<std::string>(j, "name", where, "a string");
  ref.model = field<std::string>(j, "model", where, "a model name");
  ref.recipe = field<std::string>(j, "recipe", where, "a recipe name");
  ref.dataset = field<std::string>(j, "dataset", where, "a dataset name");
  ref.synthetic = field<bool>(j, "synthetic", where, "true or false");
  ref.frameworks = field<std::vector<std::string>>(j, "frameworks", where, "an array of names");
  ref.seeds = field<std::vector<std::uint64_t>>(j, "seeds", where, "an array of seeds");
  ref.trials = field<std::vector<std::string>>(j, "trials", where, "an array of trial keys");
  ref.source = field<std::string>(j, "source", where, "a path");
  ref.created = field<std::string>(j, "created", where, "an ISO 8601 time");
  if (j.contains("recipe_config")) ref.recipe_config = j.at("recipe_config");
  if (j.contains("machine")) ref.machine = j.at("machine");
  const auto rows = field<nlohmann::json>(j, "epochs", where, "an array of epochs");
  if (!rows.is_array() || rows.empty()) {
    throw InputError(fmt::format("{}: field 'epochs' must be a non-empty array", where));
  }
  for (const auto& row : rows) ref.epochs.push_back(epoch_from_json(row, where));
  std::sort(ref.epochs.begin(), ref.epochs.end(),
            [](const EpochValues& a, const EpochValues& b) { return a.epoch < b.epoch; });
  return ref;
}

std::filesystem::path reference_directory(const std::string& explicit_dir) {
  if (!explicit_dir.empty()) return explicit_dir;
  if (const char* env = std::getenv("CIFARBENCH_REFERENCES"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
    return std::filesystem::path(xdg) / "cifarbench" / "references";
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : ".") / ".local" / "share" / "cifarbench" /
         "references";
}

std::string default_reference_name(const ReferenceCurve& ref, const std::string& framework) {
  std::string name = fmt::format("{}_{}_{}", std::filesystem::path(ref.model).stem().string(),
                                 ref.recipe, ref.dataset);
  if (!framework.empty()) name += "_" + framework;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '-';
  }
  return name;
}

void write_reference(const std::filesystem::path& file, const ReferenceCurve& ref) {
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  write_file_atomically(file, reference_to_json(ref).dump(2) + "\n");
}

ReferenceCurve read_reference(const std::filesystem::path& file) {
  const std::string where = fmt::format("reference file {}", file.string());
  if (!std::filesystem::exists(file)) {
    throw InputError(
        fmt::format("{} does not exist (expected a reference curve written by "
                    "`cifarbench reference save`)",
                    where));
  }
  const std::string text = read_regular_file(file, "reference file", std::uint64_t{64} << 20);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(
        fmt::format("{}: not valid JSON (byte {}); expected a reference curve "
                    "written by `cifarbench reference save`",
                    where, e.byte));
  }
  auto ref = reference_from_json(j, where);
  ref.name = file.stem().string();  // what --reference NAME finds it by
  return ref;
}

std::vector<ReferenceCurve> read_reference_directory(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(dir)) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() == ".json") files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<ReferenceCurve> refs;
  for (const auto& f : files) refs.push_back(read_reference(f));
  return refs;
}

std::filesystem::path resolve_reference(const std::string& file_or_name,
                                        const std::filesystem::path& dir) {
  const std::filesystem::path as_path(file_or_name);
  if (std::filesystem::exists(as_path) || as_path.extension() == ".json" ||
      as_path.has_parent_path()) {
    return as_path;
  }
  return dir / (file_or_name + ".json");
}

}  // namespace cb::results

namespace cb::results {

std::vector<ReferenceCurve> load_references(const std::string& file_or_name,
                                            const std::filesystem::path& dir) {
  if (!file_or_name.empty()) return {read_reference(resolve_reference(file_or_name, dir))};
  auto refs = read_reference_directory(dir);
  if (refs.empty()) {
    throw InputError(fmt::format(
        "no reference curves in {} (save one with `cifarbench reference save RESULTS`, or name a "
        "file with --reference)",
        dir.string()));
  }
  return refs;
}

}  // namespace cb::results
