// `cifarbench data import|info|verify|download`: converting, inspecting, checking and fetching
// datasets. The `data` subcommand is shared: `data bench` registers itself from data_bench.cpp.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>

#include "cli/command.h"
#include "core/error.h"
#include "data/channel_stats.h"
#include "data/download.h"
#include "data/image_folder.h"
#include "data/import.h"
#include "data/md5.h"
#include "data/official_archives.h"
#include "data/resolve.h"

namespace cb::cli {
namespace {
namespace fs = std::filesystem;

// Filesystem failures (permissions, a full disk, renames across devices) are about the paths the
// user gave, so they exit 2 with the path named rather than as internal errors.
template <typename Body>
std::function<void()> reporting_filesystem_errors(Body body) {
  return [body] {
    try {
      body();
    } catch (const fs::filesystem_error& e) {
      throw InputError(e.what());
    }
  };
}

CLI::App* data_command(CLI::App& app) {
  // Get-or-create (this CLI11 has no get_subcommand_no_throw): data_bench.cpp may have added it.
  CLI::App* data = nullptr;
  for (CLI::App* sub : app.get_subcommands([](CLI::App* s) { return s->get_name() == "data"; })) {
    data = sub;
  }
  if (!data)
    data = app.add_subcommand("data", "Import, inspect, verify, download and benchmark datasets");
  data->require_subcommand(1);
  return data;
}

std::string split_summary(const data::Dataset& ds, const data::Split& split) {
  std::vector<std::int64_t> per_class(ds.classes.size(), 0);
  for (const auto label : split.labels) ++per_class[static_cast<std::size_t>(label)];
  std::string text;
  for (std::size_t k = 0; k < ds.classes.size(); ++k) {
    text += fmt::format("    {:>3} {:<20} {:>8}\n", k, ds.classes[k], per_class[k]);
  }
  return text;
}

nlohmann::ordered_json dataset_json(const data::Dataset& ds) {
  nlohmann::ordered_json j;
  j["name"] = ds.name;
  j["source"] = ds.source;
  j["synthetic"] = ds.synthetic;
  j["image"] = {{"channels", ds.channels}, {"height", ds.height}, {"width", ds.width}};
  j["classes"] = ds.classes;
  for (const auto& [name, split] : {std::pair{"train", &ds.train}, {"test", &ds.test}}) {
    std::vector<std::int64_t> per_class(ds.classes.size(), 0);
    for (const auto label : split->labels) ++per_class[static_cast<std::size_t>(label)];
    const auto stats = data::channel_stats(ds, *split);
    j[name] = {{"count", split->count},
               {"per_class", per_class},
               {"mean", stats.mean},
               {"std", stats.std}};
  }
  return j;
}

void print_info(const data::Dataset& ds) {
  fmt::print("dataset  {}{}\n", ds.name, ds.synthetic ? " (synthetic: generated, not CIFAR)" : "");
  fmt::print("source   {}\n", ds.source);
  fmt::print("images   {}×{}×{} (channels × height × width), {} classes\n", ds.channels, ds.height,
             ds.width, ds.num_classes());
  for (const auto& [name, split] : {std::pair{"train", &ds.train}, {"test", &ds.test}}) {
    const auto stats = data::channel_stats(ds, *split);
    fmt::print("{:<8} {} images; per-channel mean {:.2f}, std {:.2f} (0-255 scale)\n", name,
               split->count, fmt::join(stats.mean, " "), fmt::join(stats.std, " "));
    fmt::print("{}", split_summary(ds, *split));
  }
}

struct DataFlags {
  std::string dataset = "cifar10";
  std::optional<int> resize;
  std::vector<std::string> classes;
  int threads = 0;
};

void add_load_flags(CLI::App* cmd, DataFlags& f) {
  cmd->add_option("--dataset", f.dataset,
                  "cifar10, cifar100 (fine labels), cifar100-fine, cifar100-coarse, or synthetic")
      ->capture_default_str();
  cmd->add_option("--resize", f.resize, "image folders: resample every image to this square side");
  cmd->add_option("--classes", f.classes,
                  "image folders: class names in label order "
                  "(default: folder names sorted)")
      ->delimiter(',');
  cmd->add_option("--threads", f.threads, "decoding threads (0 = one per core)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

data::DataRequest request_from(const DataFlags& f, const std::string& path) {
  data::DataRequest r;
  r.dataset = f.dataset;
  r.path = path;
  r.resize = f.resize;
  r.classes = f.classes;
  r.decode_threads = f.threads;
  r.allow_download = false;  // inspecting commands never reach for the network
  data::check_dataset_name(r.dataset);
  return r;
}

void add_import(CLI::App* data) {
  auto* cmd = data->add_subcommand("import",
                                   "Convert an image folder or archive to the CIFAR "
                                   "binary layout (loads in milliseconds afterwards)");
  auto flags = std::make_shared<DataFlags>();
  auto source = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  cmd->add_option("SRC", *source, "image folder, .tar/.tar.gz/.zip archive, or CIFAR folder")
      ->required();
  cmd->add_option("--out", *out, "the folder to create (written atomically)")->required();
  cmd->add_flag("--force", *force, "replace --out if it exists");
  add_load_flags(cmd, *flags);
  cmd->callback(reporting_filesystem_errors([flags, source, out, force] {
    auto request = request_from(*flags, *source);
    const data::Dataset ds = data::load_dataset_at(*source, request);
    data::import_dataset(ds, *out, *force);
    fmt::print("imported {} ({} train, {} test images, {} classes) from {} into {}\n", ds.name,
               ds.train.count, ds.test.count, ds.num_classes(), ds.source, *out);
  }));
}

void add_info(CLI::App* data) {
  auto* cmd = data->add_subcommand("info",
                                   "Counts per split and class, image size, per-channel "
                                   "mean and std");
  auto flags = std::make_shared<DataFlags>();
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("PATH", *path,
                  "dataset folder or archive (default: --data resolution: "
                  "CIFARBENCH_DATA, then the cache)");
  cmd->add_flag("--json", *json, "print as JSON");
  add_load_flags(cmd, *flags);
  cmd->callback(reporting_filesystem_errors([flags, path, json] {
    const data::Dataset ds = data::resolve_dataset(request_from(*flags, *path));
    if (*json)
      fmt::print("{}\n", dataset_json(ds).dump(2));
    else
      print_info(ds);
  }));
}

void add_verify(CLI::App* data) {
  auto* cmd = data->add_subcommand("verify",
                                   "Check a dataset's structure, its recorded MD5s and "
                                   "the published MD5s of official archives");
  auto flags = std::make_shared<DataFlags>();
  auto path = std::make_shared<std::string>();
  cmd->add_option("PATH", *path, "dataset folder or archive")->required();
  add_load_flags(cmd, *flags);
  cmd->callback(reporting_filesystem_errors([flags, path] {
    const fs::path target = *path;
    std::vector<std::string> problems;
    // Official archives: the file itself, or beside the extracted folder (as download leaves it).
    std::vector<fs::path> archives;
    if (fs::is_regular_file(target))
      archives.push_back(target);
    else
      for (const auto& a : data::official_archives()) {
        for (const auto& dir : {target, target.parent_path()}) {
          if (fs::is_regular_file(dir / a.file_name)) archives.push_back(dir / a.file_name);
        }
      }
    for (const auto& archive : archives) {
      for (const auto& a : data::official_archives()) {
        if (archive.filename() != a.file_name) continue;
        const std::string got = data::md5_file(archive);
        if (got == a.md5)
          fmt::print("ok    {}: MD5 {} matches the published one\n", archive.string(), got);
        else
          problems.push_back(
              fmt::format("{}: MD5 is {}, the published MD5 is {}", archive.string(), got, a.md5));
      }
    }
    if (fs::is_directory(target)) {
      if (const auto manifest = data::read_manifest(target)) {
        auto bad = data::check_manifest(target, *manifest);
        if (bad.empty()) {
          fmt::print("ok    {}: {} file(s) match the MD5s in {}\n", target.string(),
                     manifest->md5.size(), data::kManifestName);
        }
        problems.insert(problems.end(), bad.begin(), bad.end());
      }
    }
    if (!problems.empty()) {
      throw InputError(fmt::format("{}: verification failed:\n  {}", target.string(),
                                   fmt::join(problems, "\n  ")));
    }
    const data::Dataset ds = data::load_dataset_at(target, request_from(*flags, *path));
    fmt::print("ok    {}: structure valid: {} train, {} test images, {} classes, {}×{}\n",
               target.string(), ds.train.count, ds.test.count, ds.num_classes(), ds.width,
               ds.height);
  }));
}

void add_download(CLI::App* data) {
  auto* cmd = data->add_subcommand("download",
                                   "Fetch the official CIFAR archive, check its "
                                   "published MD5, extract it into the cache");
  auto options = std::make_shared<data::DownloadOptions>();
  auto dir = std::make_shared<std::string>();
  auto md5 = std::make_shared<std::string>();
  cmd->add_option("--dataset", options->dataset, "cifar10 or cifar100")
      ->capture_default_str()
      ->check(CLI::IsMember({"cifar10", "cifar100"}));
  cmd->add_option("--dir", *dir,
                  "where to put it (default: $XDG_CACHE_HOME/cifarbench, else "
                  "~/.cache/cifarbench)");
  cmd->add_option("--url", options->url, "fetch from this URL (a mirror, file://...) instead");
  cmd->add_option("--md5", *md5, "expected MD5 (default: the published one)");
  cmd->add_option("--retries", options->retries, "further attempts after a failure")
      ->capture_default_str()
      ->check(CLI::Range(0, 20));
  cmd->add_option("--backoff", options->backoff_seconds,
                  "seconds before the first retry, "
                  "doubled after each")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  cmd->callback(reporting_filesystem_errors([options, dir, md5] {
    if (!dir->empty()) options->dir = *dir;
    if (!md5->empty()) {
      std::transform(md5->begin(), md5->end(), md5->begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (md5->size() != 32 || md5->find_first_not_of("0123456789abcdef") != std::string::npos) {
        throw InputError(fmt::format("--md5: expected 32 hex digits, got '{}'", *md5));
      }
      options->md5 = *md5;
    }
    const auto result = data::download_dataset(*options);
    fmt::print("{} {} (MD5 ok)\nextracted {}\n",
               result.fetched ? "downloaded" : "already present:", result.archive.string(),
               result.dataset_dir.string());
  }));
}

const CommandRegistration data_registration{"data", 40, [](CLI::App& app) {
                                         CLI::App* data = data_command(app);
                                         add_import(data);
                                         add_info(data);
                                         add_verify(data);
                                         add_download(data);
                                       }};

}  // namespace
}  // namespace cb::cli
