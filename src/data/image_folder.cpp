#include "data/image_folder.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "data/cifar_binary.h"
#include "core/input_file.h"
#include "data/image_decode.h"

#ifdef CIFARBENCH_HAVE_ARCHIVE
#include <archive.h>
#include <archive_entry.h>
#endif

namespace cb::data {
namespace fs = std::filesystem;
namespace {

// One file found in the tree: its path components below the scan root and where its bytes are.
struct FoundFile {
  std::vector<std::string> components;
  std::string display;              // file path, or "archive:member"
  fs::path disk_path;               // set for directories
  std::vector<std::uint8_t> bytes;  // set for archives
};

struct ImageEntry {
  int split = 0;  // 0 train, 1 test
  int label = 0;
  std::string file_name;
  const FoundFile* file = nullptr;
};

constexpr const char* kSplitNames[2] = {"train", "test"};
// Archives are read in memory: a member is bounded while it inflates (a lying header cannot
// get past it), and so is their sum. CIFAR-100's train.bin (154 MB) is the largest real member.
constexpr std::size_t kMaxMemberBytes = std::size_t{256} << 20;
constexpr std::size_t kMaxArchiveBytes = std::size_t{8} << 30;

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::vector<std::uint8_t> read_whole_file(const fs::path& path) {
  const std::string text = read_regular_file(path, "dataset file");
  return std::vector<std::uint8_t>(text.begin(), text.end());
}

// The components before the shallowest "train" folder: the dataset's root inside the tree.
std::optional<std::vector<std::string>> find_root_prefix(const std::vector<FoundFile>& files) {
  std::optional<std::vector<std::string>> best;
  for (const auto& f : files) {
    const auto& c = f.components;
    for (std::size_t i = 0; i + 1 < c.size(); ++i) {
      if (c[i] != "train") continue;
      if (!best || i < best->size())
        best = std::vector<std::string>(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  return best;
}

std::vector<std::uint8_t> bytes_of(const FoundFile& f) {
  return f.disk_path.empty() ? f.bytes : read_whole_file(f.disk_path);
}

// The images below the dataset root, unlabelled, and how many each class folder has per split.
struct Listing {
  std::vector<ImageEntry> entries;
  std::map<std::string, std::size_t> images_per_class[2];
};

// Lists the images under ROOT/train and ROOT/test (ROOT: `prefix`), checking that each is an
// image this build decodes, directly inside a class folder.
Listing list_images(const std::vector<FoundFile>& files, const std::vector<std::string>& prefix,
                    const std::string& where) {
  Listing listing;
  for (const auto& f : files) {
    const auto& c = f.components;
    if (c.size() <= prefix.size() || !std::equal(prefix.begin(), prefix.end(), c.begin())) {
      continue;  // outside the dataset root (a README beside it, __MACOSX, ...)
    }
    const std::vector<std::string> rel(c.begin() + static_cast<std::ptrdiff_t>(prefix.size()),
                                       c.end());
    const int split = rel[0] == "train" ? 0 : rel[0] == "test" ? 1 : -1;
    if (split < 0) {
      if (rel.size() > 1)
        spdlog::warn("{}: ignoring {} (not under train/ or test/)", where, f.display);
      continue;
    }
    if (rel.back().starts_with('.')) {
      spdlog::debug("{}: skipping hidden file {}", where, f.display);
      continue;
    }
    if (rel.size() != 3) {
      throw InputError(
          fmt::format("{}: unexpected location (expected {}/<class>/<image>, with "
                      "images directly inside class folders)",
                      f.display, rel[0]));
    }
    const ImageFormat format = image_format_from_name(rel[2]);
    if (format == ImageFormat::unknown) {
      throw InputError(
          fmt::format("{}: not an image file (expected .jpg, .jpeg or .png in a "
                      "class folder; remove it or move it out of the dataset)",
                      f.display));
    }
    if (!can_decode(format)) {
      throw Unsupported(fmt::format("{}: this build cannot decode {} images", f.display,
                                    format == ImageFormat::jpeg ? "JPEG" : "PNG"));
    }
    ++listing.images_per_class[split][rel[1]];
    listing.entries.push_back({split, -1, rel[2], &f});
  }
  return listing;
}

// The classes (the requested ones, or train/'s folders in sorted order), checking that both
// splits have images, every class folder is a class and every class has training images; labels
// the entries and sorts them by split, label and file name.
std::vector<std::string> label_images(Listing& listing, const std::string& where,
                                      const ImageFolderOptions& options) {
  const auto& images_per_class = listing.images_per_class;
  for (int s = 0; s < 2; ++s) {
    if (images_per_class[s].empty()) {
      throw InputError(fmt::format("{}: the {} split has no images (expected {}/<class>/*.jpg|png)",
                                   where, kSplitNames[s], kSplitNames[s]));
    }
  }
  std::vector<std::string> classes = options.classes;
  if (classes.empty()) {
    for (const auto& [name, count] : images_per_class[0]) classes.push_back(name);  // sorted
  }
  check_class_names(classes, where + " (class folders)");
  std::map<std::string, int> label_of;
  for (std::size_t i = 0; i < classes.size(); ++i) label_of[classes[i]] = static_cast<int>(i);
  for (int s = 0; s < 2; ++s) {
    for (const auto& [name, count] : images_per_class[s]) {
      if (!label_of.contains(name)) {
        throw InputError(fmt::format("{}: class folder {}/{} is not among the {} classes ({})",
                                     where, kSplitNames[s], name, classes.size(),
                                     fmt::join(classes, ", ")));
      }
    }
  }
  for (const auto& name : classes) {
    if (!images_per_class[0].contains(name)) {
      throw InputError(fmt::format("{}: class '{}' has no images in train/", where, name));
    }
  }
  auto& entries = listing.entries;
  for (auto& e : entries) e.label = label_of.at(e.file->components[e.file->components.size() - 2]);
  std::sort(entries.begin(), entries.end(), [](const ImageEntry& a, const ImageEntry& b) {
    return std::tie(a.split, a.label, a.file_name) < std::tie(b.split, b.label, b.file_name);
  });
  return classes;
}

// Sets the dataset's image size: the requested resize, or else the first image's size.
void set_image_size(Dataset& ds, const std::vector<ImageEntry>& entries,
                    const ImageFolderOptions& options) {
  if (options.resize) {
    if (*options.resize < 1 || *options.resize > 4096) {
      throw InputError(
          fmt::format("resize: expected a side of 1 to 4096 pixels, got {}", *options.resize));
    }
    ds.height = ds.width = *options.resize;
  } else {
    const FoundFile& first = *entries.front().file;
    const auto bytes = bytes_of(first);
    const RgbImage image = decode_image(bytes.data(), bytes.size(), first.display);
    ds.height = image.height;
    ds.width = image.width;
  }
}

// Decodes the sorted entries into ds.train and ds.test on a pool of threads. A failure stops
// the pool; the error of the first bad file in order is rethrown, whatever the thread timing.
void decode_images(Dataset& ds, const std::vector<ImageEntry>& entries, const std::string& where,
                   const ImageFolderOptions& options) {
  const std::int64_t image_bytes = ds.image_bytes();
  std::int64_t counts[2] = {0, 0};
  for (const auto& e : entries) ++counts[e.split];
  Split* splits[2] = {&ds.train, &ds.test};
  for (int s = 0; s < 2; ++s) {
    splits[s]->count = counts[s];
    splits[s]->pixels.resize(static_cast<std::size_t>(counts[s] * image_bytes));
    splits[s]->labels.resize(static_cast<std::size_t>(counts[s]));
  }

  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::size_t error_index = entries.size();
  std::exception_ptr error;
  auto work = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= entries.size() || failed.load(std::memory_order_relaxed)) return;
      const ImageEntry& e = entries[i];
      try {
        const auto bytes = bytes_of(*e.file);
        const RgbImage image = decode_image(bytes.data(), bytes.size(), e.file->display);
        if (!options.resize && (image.height != ds.height || image.width != ds.width)) {
          throw InputError(
              fmt::format("{}: image is {}×{}, the dataset's first image is {}×{} "
                          "(request a resize to load images of mixed sizes)",
                          e.file->display, image.width, image.height, ds.width, ds.height));
        }
        const std::int64_t index =
            e.split == 0 ? static_cast<std::int64_t>(i) : static_cast<std::int64_t>(i) - counts[0];
        Split& split = *splits[e.split];
        write_planar(image, ds.height, ds.width, split.pixels.data() + index * image_bytes);
        split.labels[static_cast<std::size_t>(index)] = e.label;
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (i < error_index) {  // report the first bad file in order, whatever the thread timing
          error_index = i;
          error = std::current_exception();
        }
        failed = true;
      }
    }
  };
  const auto decode_start = std::chrono::steady_clock::now();
  const int threads =
      std::min<int>(resolve_threads(options.decode_threads), static_cast<int>(entries.size()));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  spdlog::debug(
      "{}: decoded {} images in {:.0f} ms on {} thread(s)", where, entries.size(),
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - decode_start)
          .count(),
      threads);
}

Dataset assemble(std::vector<FoundFile>& files, const std::string& where,
                 const std::string& default_name, const ImageFolderOptions& options) {
  if (files.empty()) {
    throw InputError(
        fmt::format("{}: is empty (expected train/<class>/*.jpg|png and "
                    "test/<class>/*.jpg|png, or CIFAR binary files)",
                    where));
  }
  const auto prefix = find_root_prefix(files);
  if (!prefix) {
    throw InputError(
        fmt::format("{}: no train/ folder found (expected "
                    "ROOT/train/<class>/*.jpg|png and ROOT/test/<class>/*.jpg|png)",
                    where));
  }
  Listing listing = list_images(files, *prefix, where);
  Dataset ds;
  ds.classes = label_images(listing, where, options);
  ds.name = prefix->empty() ? default_name : prefix->back();
  ds.source = where;
  set_image_size(ds, listing.entries, options);
  decode_images(ds, listing.entries, where, options);
  return ds;
}

std::string stem_without_archive_suffix(const fs::path& path) {
  std::string name = path.filename().string();
  for (const char* suffix : {".tar.gz", ".tgz", ".tar", ".zip"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.ends_with(s)) return name.substr(0, name.size() - s.size());
  }
  return name;
}

bool has_basename(const std::vector<FoundFile>& files, const std::string& base) {
  return std::any_of(files.begin(), files.end(),
                     [&](const FoundFile& f) { return f.components.back() == base; });
}

// CIFAR binary files inside an archive (the official cifar-10-binary.tar.gz, say).
std::optional<Dataset> try_cifar_in_archive(const std::vector<FoundFile>& files,
                                            const std::string& where,
                                            const ImageFolderOptions& options) {
  const bool cifar10 =
      has_basename(files, "data_batch_1.bin") || has_basename(files, "test_batch.bin");
  const bool cifar100 = has_basename(files, "train.bin");
  if (!cifar10 && !cifar100) return std::nullopt;
  const std::string anchor =
      cifar10 ? (has_basename(files, "data_batch_1.bin") ? "data_batch_1.bin" : "test_batch.bin")
              : "train.bin";
  std::vector<std::string> dir;
  for (const auto& f : files) {
    if (f.components.back() == anchor) {
      dir.assign(f.components.begin(), f.components.end() - 1);
      break;
    }
  }
  auto fetch = [&](const std::string& name, std::vector<std::uint8_t>& bytes) {
    for (const auto& f : files) {
      if (f.components.size() == dir.size() + 1 && f.components.back() == name &&
          std::equal(dir.begin(), dir.end(), f.components.begin())) {
        bytes = f.bytes;
        return true;
      }
    }
    return false;
  };
  auto probe = [&](const std::string& name) -> std::optional<std::size_t> {
    for (const auto& f : files) {
      if (f.components.size() == dir.size() + 1 && f.components.back() == name &&
          std::equal(dir.begin(), dir.end(), f.components.begin())) {
        return f.bytes.size();
      }
    }
    return std::nullopt;
  };
  return cifar10 ? load_cifar10(fetch, where, probe)
                 : load_cifar100(fetch, where, options.cifar100_labels, probe);
}

#ifdef CIFARBENCH_HAVE_ARCHIVE
struct ArchiveCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};

// Whether an archive member can be part of a dataset: a file below a train/ or test/ folder
// (an image), or one of the CIFAR binary layout's files. Everything else is ignored when the
// dataset is assembled, so it is skipped without being inflated.
bool may_hold_data(const std::vector<std::string>& components) {
  static const std::set<std::string> kCifarFiles = {
      "batches.meta.txt", "test_batch.bin",         "train.bin",           "test.bin",
      "meta.txt",         "coarse_label_names.txt", "fine_label_names.txt"};
  const std::string& base = components.back();
  if (kCifarFiles.contains(base) || (base.starts_with("data_batch_") && base.ends_with(".bin"))) {
    return true;
  }
  for (std::size_t i = 0; i + 1 < components.size(); ++i) {
    if (components[i] == "train" || components[i] == "test") return true;
  }
  return false;
}

std::vector<FoundFile> read_archive_members(archive* a, const std::string& where) {
  std::vector<FoundFile> files;
  std::set<std::string> seen;  // one member twice would count its image twice
  std::size_t total = 0;       // bytes inflated so far
  archive_entry* entry = nullptr;
  for (;;) {
    const int r = archive_read_next_header(a, &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      throw InputError(
          fmt::format("{}: unreadable archive after {} member(s): {}", where, files.size(),
                      archive_error_string(a) ? archive_error_string(a) : "unknown error"));
    }
    const char* raw_name = archive_entry_pathname(entry);
    if (!raw_name || !*raw_name) {
      throw InputError(fmt::format("{}: member {} has no name", where, files.size()));
    }
    const std::string name = raw_name;
    auto components = safe_member_components(name, where);
    const auto type = archive_entry_filetype(entry);
    if (type == AE_IFDIR || components.empty()) continue;
    if (type != AE_IFREG) {
      throw InputError(
          fmt::format("{}:{}: only regular files and folders are allowed in a "
                      "dataset archive (links and devices are refused)",
                      where, name));
    }
    if (!may_hold_data(components)) {  // ignored later anyway: never inflate it
      spdlog::debug("{}:{}: skipped (not under train/ or test/, not a CIFAR file)", where, name);
      archive_read_data_skip(a);
      continue;
    }
    std::string normalized;
    for (const auto& c : components) normalized += "/" + c;
    if (!seen.insert(normalized).second) {
      throw InputError(fmt::format("{}:{}: this member appears twice in the archive (each file "
                                   "must appear once)", where, name));
    }
    FoundFile f;
    f.components = std::move(components);
    f.display = fmt::format("{}:{}", where, name);
    if (archive_entry_size_is_set(entry)) {
      const auto declared = archive_entry_size(entry);
      if (declared < 0 || static_cast<std::uint64_t>(declared) > kMaxMemberBytes) {
        throw InputError(fmt::format("{}: member declares {} bytes (at most {} allowed)", f.display,
                                     declared, kMaxMemberBytes));
      }
      // A header can lie about the size: reserve modestly, grow with the data actually read.
      f.bytes.reserve(
          std::min<std::size_t>(static_cast<std::size_t>(declared), std::size_t{16} << 20));
    }
    std::uint8_t chunk[1 << 16];
    for (;;) {
      const la_ssize_t n = archive_read_data(a, chunk, sizeof chunk);
      if (n == 0) break;
      if (n < 0) {
        throw InputError(
            fmt::format("{}: cannot read member data: {}", f.display,
                        archive_error_string(a) ? archive_error_string(a) : "unknown error"));
      }
      if (f.bytes.size() + static_cast<std::size_t>(n) > kMaxMemberBytes) {
        throw InputError(
            fmt::format("{}: member is larger than {} bytes", f.display, kMaxMemberBytes));
      }
      total += static_cast<std::size_t>(n);
      if (total > kMaxArchiveBytes) {
        throw InputError(fmt::format("{}: the archive's members add up to more than {} bytes "
                                     "(at {}); extract it and pass the folder",
                                     where, kMaxArchiveBytes, f.display));
      }
      f.bytes.insert(f.bytes.end(), chunk, chunk + n);
    }
    files.push_back(std::move(f));
  }
  return files;
}

std::unique_ptr<archive, ArchiveCloser> new_archive_reader() {
  std::unique_ptr<archive, ArchiveCloser> a(archive_read_new());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_bzip2(a.get());
  archive_read_support_filter_xz(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  archive_read_support_format_zip(a.get());
  return a;
}

Dataset load_members(std::vector<FoundFile>& files, const std::string& where,
                     const std::string& stem, const ImageFolderOptions& options) {
  if (auto cifar = try_cifar_in_archive(files, where, options)) return std::move(*cifar);
  return assemble(files, where, stem, options);
}
#endif

}  // namespace

std::vector<std::string> safe_member_components(const std::string& member,
                                                const std::string& archive_name) {
  if (member.starts_with('/') || member.starts_with('\\') ||
      (member.size() > 1 && member[1] == ':')) {
    throw InputError(
        fmt::format("{}: member '{}' has an absolute path (refused)", archive_name, member));
  }
  std::vector<std::string> parts;
  std::string part;
  auto flush = [&] {
    if (part == "..") {
      throw InputError(
          fmt::format("{}: member '{}' has a '..' component that would escape the "
                      "archive's root (refused)",
                      archive_name, member));
    }
    if (!part.empty() && part != ".") parts.push_back(part);
    part.clear();
  };
  for (const char c : member) {
    if (c == '/' || c == '\\')
      flush();
    else
      part.push_back(c);
  }
  flush();
  return parts;
}

bool is_archive_path(const fs::path& path) {
  const std::string name = path.filename().string();
  for (const char* suffix : {".tar.gz", ".tgz", ".tar", ".zip"}) {
    if (name.ends_with(suffix)) return true;
  }
  return false;
}

bool can_read_archives() {
#ifdef CIFARBENCH_HAVE_ARCHIVE
  return true;
#else
  return false;
#endif
}

Dataset load_image_folder(const fs::path& root_in, const ImageFolderOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(root_in, ec)) {
    throw InputError(fmt::format("{}: not a directory", root_in.string()));
  }
  fs::path root = root_in;
  std::vector<FoundFile> files;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
  if (ec) throw InputError(fmt::format("{}: cannot list: {}", root.string(), ec.message()));
  for (; it != end; it.increment(ec)) {
    if (ec) throw InputError(fmt::format("{}: cannot list: {}", root.string(), ec.message()));
    if (!it->is_regular_file(ec)) continue;
    FoundFile f;
    for (const auto& part : fs::relative(it->path(), root)) f.components.push_back(part.string());
    f.display = it->path().string();
    f.disk_path = it->path();
    files.push_back(std::move(f));
  }
  const std::string name = fs::absolute(root).lexically_normal().filename().string();
  return assemble(files, root.string(), name.empty() ? root.string() : name, options);
}

Dataset load_archive(const fs::path& path, const ImageFolderOptions& options) {
#ifdef CIFARBENCH_HAVE_ARCHIVE
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw InputError(fmt::format("{}: no such archive file", path.string()));
  }
  auto a = new_archive_reader();
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 20) != ARCHIVE_OK) {
    throw InputError(fmt::format(
        "{}: cannot open as an archive: {}", path.string(),
        archive_error_string(a.get()) ? archive_error_string(a.get()) : "unknown error"));
  }
  const auto start = std::chrono::steady_clock::now();
  auto files = read_archive_members(a.get(), path.string());
  spdlog::debug(
      "{}: read {} members in {:.0f} ms", path.string(), files.size(),
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  return load_members(files, path.string(), stem_without_archive_suffix(path), options);
#else
  (void)options;
  throw Unsupported(
      fmt::format("{}: this build cannot read archives (rebuild with libarchive, or "
                  "extract it and pass the folder)",
                  path.string()));
#endif
}

Dataset load_archive_memory(const void* bytes, std::size_t size, const std::string& name,
                            const ImageFolderOptions& options) {
#ifdef CIFARBENCH_HAVE_ARCHIVE
  auto a = new_archive_reader();
  if (archive_read_open_memory(a.get(), bytes, size) != ARCHIVE_OK) {
    throw InputError(fmt::format(
        "{}: cannot open as an archive: {}", name,
        archive_error_string(a.get()) ? archive_error_string(a.get()) : "unknown error"));
  }
  auto files = read_archive_members(a.get(), name);
  return load_members(files, name, stem_without_archive_suffix(name), options);
#else
  (void)bytes, (void)size, (void)options;
  throw Unsupported(fmt::format("{}: this build cannot read archives", name));
#endif
}

}  // namespace cb::data
