#include "data/import.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/input_file.h"
#include "data/cifar_binary.h"
#include "data/md5.h"

namespace cb::data {
namespace fs = std::filesystem;
namespace {

}  // namespace

void write_checksum_manifest(const fs::path& dir, const std::string& name,
                             const std::string& source) {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string file = entry.path().filename().string();
    if (entry.is_regular_file() && file != kManifestName) files.push_back(file);
  }
  std::sort(files.begin(), files.end());
  nlohmann::ordered_json md5 = nlohmann::ordered_json::object();
  for (const auto& f : files) md5[f] = md5_file(dir / f);
  nlohmann::ordered_json manifest = {{"name", name}, {"source", source}, {"md5", md5}};
  write_file_atomically(dir / kManifestName, manifest.dump(2) + "\n");
}

std::optional<Manifest> read_manifest(const fs::path& dir) {
  const fs::path path = dir / kManifestName;
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  const std::string text = read_regular_file(path, "dataset manifest", 16 << 20);
  try {
    const auto json = nlohmann::json::parse(text);
    Manifest m;
    m.name = json.at("name").get<std::string>();
    m.source = json.at("source").get<std::string>();
    for (const auto& [file, sum] : json.at("md5").items())
      m.md5.emplace_back(file, sum.get<std::string>());
    return m;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: malformed manifest: {}", path.string(), e.what()));
  }
}

std::vector<std::string> check_manifest(const fs::path& dir, const Manifest& manifest) {
  std::vector<std::string> problems;
  for (const auto& [file, expected] : manifest.md5) {
    const fs::path path = dir / file;
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      problems.push_back(fmt::format("{}: missing (listed in {})", path.string(), kManifestName));
      continue;
    }
    const std::string got = md5_file(path);
    if (got != expected) {
      problems.push_back(fmt::format("{}: MD5 is {}, expected {}", path.string(), got, expected));
    }
  }
  return problems;
}

void import_dataset(const Dataset& dataset, const fs::path& out_in, bool replace) {
  const fs::path out = fs::absolute(out_in).lexically_normal();
  const fs::path parent = out.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec)
    throw InputError(
        fmt::format("--out {}: cannot create its parent: {}", out.string(), ec.message()));
  const bool exists = fs::exists(out, ec);
  if (exists && !fs::is_directory(out, ec)) {
    throw InputError(fmt::format("--out {}: exists and is not a directory", out.string()));
  }
  const bool nonempty = exists && !fs::is_empty(out, ec);
  if (nonempty && !replace) {
    throw InputError(
        fmt::format("--out {}: already exists and is not empty (pass --force to "
                    "replace it)",
                    out.string()));
  }
  const fs::path temp = parent / fmt::format(".{}.import-{}", out.filename().string(), ::getpid());
  fs::remove_all(temp, ec);
  fs::create_directory(temp);
  try {
    const auto files = write_cifar10_layout(dataset, temp);
    write_checksum_manifest(temp, dataset.name, dataset.source);
    for (const auto& f : files) sync_path(temp / f);
    sync_path(temp);
    if (exists) {  // move the old one aside first, so `out` is always whole or absent
      const fs::path old = parent / fmt::format(".{}.old-{}", out.filename().string(), ::getpid());
      fs::rename(out, old);
      fs::rename(temp, out);
      fs::remove_all(old, ec);
    } else {
      fs::rename(temp, out);
    }
    sync_path(parent);
  } catch (...) {
    fs::remove_all(temp, ec);
    throw;
  }
}

}  // namespace cb::data
