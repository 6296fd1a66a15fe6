// Importing a dataset into the CIFAR-10 binary layout (atomically), and the checksum manifest
// (cifarbench.json) that import and download leave in a dataset folder for `data verify`.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace cb::data {

inline constexpr const char* kManifestName = "cifarbench.json";

// Writes DIR/cifarbench.json: the dataset's name, its source and the MD5 of every file in DIR.
void write_checksum_manifest(const std::filesystem::path& dir, const std::string& name,
                             const std::string& source);

struct Manifest {
  std::string name;
  std::string source;
  std::vector<std::pair<std::string, std::string>> md5;  // file name, MD5
};
// The manifest in `dir`, if there is one; InputError if it is there but malformed.
std::optional<Manifest> read_manifest(const std::filesystem::path& dir);

// Writes `dataset` to `out` in the CIFAR-10 binary layout with a manifest. Everything goes to a
// temporary sibling folder first, renamed to `out` at the end, so an interrupted import leaves no
// half dataset. An existing non-empty `out` is an InputError unless `replace` is set.
void import_dataset(const Dataset& dataset, const std::filesystem::path& out, bool replace);

// Checks each file listed in the manifest against its MD5; returns one line per mismatch or
// missing file (empty when all match).
std::vector<std::string> check_manifest(const std::filesystem::path& dir, const Manifest& manifest);

}  // namespace cb::data
