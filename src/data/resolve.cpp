#include "data/resolve.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

#include "core/error.h"
#include "data/cifar_binary.h"
#include "data/download.h"
#include "data/image_folder.h"
#include "data/import.h"
#include "data/official_archives.h"

namespace cb::data {
namespace fs = std::filesystem;
namespace {

Cifar100Labels labels_for(const std::string& dataset) {
  return dataset == "cifar100-coarse" ? Cifar100Labels::coarse : Cifar100Labels::fine;
}

ImageFolderOptions folder_options(const DataRequest& request) {
  ImageFolderOptions o;
  o.classes = request.classes;
  o.resize = request.resize;
  o.decode_threads = request.decode_threads;
  o.cifar100_labels = labels_for(request.dataset);
  return o;
}

Dataset load_cifar_dir(const fs::path& dir, const DataRequest& request) {
  Dataset ds = is_cifar10_dir(dir) ? load_cifar10_dir(dir)
                                   : load_cifar100_dir(dir, labels_for(request.dataset));
  if (const auto manifest = read_manifest(dir); manifest && !manifest->name.empty()) {
    if (ds.name == "cifar10" && manifest->name != "cifar10") ds.name = manifest->name;
  }
  if (request.resize && *request.resize != ds.height) {
    throw InputError(
        fmt::format("{}: CIFAR binary images are 32×32; a resize to {} applies only "
                    "to image folders",
                    dir.string(), *request.resize));
  }
  return ds;
}

}  // namespace

void check_dataset_name(const std::string& dataset) {
  for (const char* name :
       {"cifar10", "cifar100", "cifar100-fine", "cifar100-coarse", "synthetic"}) {
    if (dataset == name) return;
  }
  throw InputError(
      fmt::format("--dataset: unknown dataset '{}' (expected cifar10, cifar100, "
                  "cifar100-fine, cifar100-coarse or synthetic)",
                  dataset));
}

Dataset load_dataset_at(const fs::path& path, const DataRequest& request) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw InputError(fmt::format("{}: no such file or directory", path.string()));
  if (fs::is_regular_file(path, ec)) {
    if (!is_archive_path(path)) {
      throw InputError(
          fmt::format("{}: not a folder or a .tar, .tar.gz, .tgz or .zip archive", path.string()));
    }
    return load_archive(path, folder_options(request));
  }
  if (!fs::is_directory(path, ec)) {
    throw InputError(fmt::format("{}: not a regular file or a directory", path.string()));
  }
  if (fs::is_empty(path, ec)) {
    throw InputError(
        fmt::format("{}: is an empty directory (expected CIFAR binary files, "
                    "train/ and test/ image folders, or an archive)",
                    path.string()));
  }
  if (is_cifar10_dir(path) || is_cifar100_dir(path)) return load_cifar_dir(path, request);
  // A folder holding just the extracted official folder (the cache, a --dir of download).
  std::vector<fs::path> subdirs;
  bool has_train = false;
  for (const auto& entry : fs::directory_iterator(path)) {
    if (!entry.is_directory()) continue;
    if (entry.path().filename() == "train") has_train = true;
    if (!entry.path().filename().string().starts_with('.')) subdirs.push_back(entry.path());
  }
  if (!has_train && subdirs.size() == 1 &&
      (is_cifar10_dir(subdirs[0]) || is_cifar100_dir(subdirs[0]))) {
    return load_cifar_dir(subdirs[0], request);
  }
  return load_image_folder(path, folder_options(request));
}

Dataset resolve_dataset(const DataRequest& request) {
  check_dataset_name(request.dataset);
  if (request.dataset == "synthetic") {
    if (!request.path.empty()) {  // a path the user gave must not be silently ignored
      throw InputError(fmt::format("--data {}: the synthetic dataset is generated and reads no "
                                   "data; drop --data or name a real dataset",
                                   request.path));
    }
    return make_synthetic(request.synthetic);
  }
  if (!request.path.empty()) {
    std::error_code ec;
    if (!fs::exists(request.path, ec)) {
      throw InputError(fmt::format("--data {}: no such file or directory", request.path));
    }
    return load_dataset_at(request.path, request);
  }
  if (const char* env = std::getenv("CIFARBENCH_DATA"); env && *env) {
    std::error_code ec;
    if (!fs::exists(env, ec)) {
      throw InputError(fmt::format("CIFARBENCH_DATA={}: no such file or directory", env));
    }
    return load_dataset_at(env, request);
  }
  const OfficialArchive& official = official_archive_for(request.dataset);
  std::string cache_note;
  try {
    const fs::path cached = cache_dir() / official.extracted_dir;
    std::error_code ec;
    if (fs::is_directory(cached, ec)) return load_dataset_at(cached, request);
    cache_note = fmt::format("nothing cached in {}", cached.parent_path().string());
  } catch (const InputError& e) {
    cache_note = e.what();
  }
  std::string download_note = "download not attempted";
  if (request.allow_download && can_download()) {
    try {
      DownloadOptions download;
      download.dataset = official.dataset;
      const DownloadResult got = download_dataset(download);
      return load_dataset_at(got.dataset_dir, request);
    } catch (const Error& e) {
      download_note = fmt::format("download failed: {}", e.what());
    }
  } else if (request.allow_download) {
    download_note = "this build has no libcurl, so it cannot download";
  }
  throw InputError(fmt::format(
      "no {} data found ({}; {}). Provide it in one of these ways:\n"
      "  --data PATH            a CIFAR binary folder, an image folder (train/<class>/*.jpg|png, "
      "test/...), or a .tar/.tar.gz/.zip of either\n"
      "  CIFARBENCH_DATA=PATH   the same, from the environment\n"
      "  cifarbench data download --dataset {}   fetch and cache the official archive in {}\n"
      "  cifarbench data import SRC --out DIR    convert an image folder or archive, then --data "
      "DIR\n"
      "  --dataset synthetic    generated data, for throughput-only runs",
      request.dataset, cache_note, download_note, official.dataset, [] {
        try {
          return cache_dir().string();
        } catch (const Error&) {
          return std::string("$XDG_CACHE_HOME/cifarbench");
        }
      }()));
}

Split evenly_spaced(const Split& split, std::int64_t image_bytes, std::int64_t n) {
  if (n <= 0 || n >= split.count) return split;
  Split out;
  out.count = n;
  out.pixels.resize(static_cast<std::size_t>(n * image_bytes));
  out.labels.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t from = i * split.count / n;
    std::copy_n(split.image(from, image_bytes), image_bytes, out.pixels.data() + i * image_bytes);
    out.labels[static_cast<std::size_t>(i)] = split.labels[static_cast<std::size_t>(from)];
  }
  return out;
}

}  // namespace cb::data
