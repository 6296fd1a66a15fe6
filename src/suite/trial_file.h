// The one file a suite's child process reads (trials/<key>/trial.json): everything that makes
// the trial what it is, instead of a long list of command-line flags. `cifarbench run` writes
// it; `cifarbench train --trial FILE` runs it. The recipe is the TOML file beside it.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

#include "backends/backend.h"

namespace cb::suite {

struct TrialFile {
  std::string framework;
  std::string model;                  // zoo name or model file
  std::filesystem::path recipe;       // the recipe TOML (the suite's, defaults merged)
  std::uint64_t seed = 0;
  int batch_size = 0;                 // 0: the recipe's
  backends::ExecutionSettings execution;  // replaces the recipe's [hardware] table
  std::string dataset = "cifar10";
  std::string data_path;              // "" : the usual resolution order
  std::int64_t synthetic_train = 0, synthetic_test = 0;  // synthetic data sizes (0: default)
  int processes = 1;                  // data-parallel ranks on this machine
  double time_limit_s = 0;            // the trial stops itself as `timeout` after this
  std::filesystem::path out_dir;      // result.json, stderr, checkpoints
  std::filesystem::path results_dir;  // the results database to write into
  std::int64_t suite_id = 0;
  std::string key;                    // the trial's key in that suite
};

nlohmann::json to_json(const TrialFile& trial);
void write_trial_file(const std::filesystem::path& path, const TrialFile& trial);
// Throws InputError naming the file and the field when it is missing or malformed.
TrialFile read_trial_file(const std::filesystem::path& path);

}  // namespace cb::suite
