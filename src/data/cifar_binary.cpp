#include "data/cifar_binary.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "core/error.h"
#include "core/input_file.h"

namespace cb::data {
namespace {

std::vector<std::string> parse_name_list(const std::vector<std::uint8_t>& bytes) {
  std::vector<std::string> names;
  std::string line;
  auto flush = [&] {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.pop_back();
    }
    if (!line.empty()) names.push_back(line);  // the official files end in blank lines
    line.clear();
  };
  for (const std::uint8_t c : bytes) {
    if (c == '\n')
      flush();
    else
      line.push_back(static_cast<char>(c));
  }
  flush();
  return names;
}

std::string join_path(const std::string& where, const std::string& name) {
  return where.empty() ? name : (std::filesystem::path(where) / name).string();
}

// Why `name` cannot be a class name (one line of a names file, shown in reports), or "".
std::string class_name_problem(const std::string& name) {
  std::size_t i = 0;
  while (i < name.size()) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f) return fmt::format("control character 0x{:02x} at byte {}", c, i);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > name.size()) return fmt::format("invalid UTF-8 at byte {}", i);
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(name[i + k]) & 0xc0) != 0x80) {
        return fmt::format("invalid UTF-8 at byte {}", i);
      }
    }
    i += len;
  }
  return "";
}

// Every name printable UTF-8 on one line, each once; InputError naming the file and line.
void check_names(const std::vector<std::string>& names, const std::string& file) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (const std::string why = class_name_problem(names[i]); !why.empty()) {
      throw InputError(fmt::format("{}: class name #{}: {}; class names are printable "
                                   "UTF-8 text, one per line", file, i + 1, why));
    }
    if (!seen.insert(names[i]).second) {
      throw InputError(fmt::format("{}: class name '{}' appears twice (name {}); each class is "
                                   "named once", file, names[i], i + 1));
    }
  }
}

// A batch file with no records would silently drop its share of the dataset.
void require_records(const std::vector<std::uint8_t>& bytes, const std::string& file,
                     std::size_t record) {
  if (bytes.empty()) {
    throw InputError(fmt::format("{}: empty file (0 bytes); a CIFAR batch holds {}-byte records",
                                 file, record));
  }
}

// Reserves room for every record of `names` (when their sizes are known) in one allocation.
void reserve_for(const CifarSizeProbe& probe, const std::vector<std::string>& names,
                 std::size_t record_bytes, Split& split) {
  if (!probe) return;
  std::size_t records = 0;
  for (const auto& n : names) {
    if (const auto size = probe(n)) records += *size / record_bytes;
  }
  split.pixels.reserve(records * kCifarPixelBytes);
  split.labels.reserve(records);
}

void require_nonempty(const Split& split, const std::string& what, const std::string& where) {
  if (split.count == 0) {
    throw InputError(fmt::format("{}: the {} split has no records", where, what));
  }
}

}  // namespace

void parse_cifar_records(const std::uint8_t* bytes, std::size_t size, const std::string& file,
                         const CifarRecordFormat& format, Split& split) {
  const std::size_t record = format.record_bytes();
  const std::size_t whole = size / record;
  if (size % record != 0) {
    throw InputError(fmt::format(
        "{}: {} bytes is not a whole number of {}-byte records: {} stray byte(s) at byte offset {} "
        "(the file is truncated or has trailing bytes)",
        file, size, record, size % record, whole * record));
  }
  const std::size_t labels_n = format.label_counts.size();
  for (std::size_t r = 0; r < whole; ++r) {
    const std::uint8_t* rec = bytes + r * record;
    for (std::size_t k = 0; k < labels_n; ++k) {
      if (rec[k] >= format.label_counts[k]) {
        throw InputError(
            fmt::format("{}: record {} at byte offset {} has label {} (expected 0 to {}{})", file,
                        r, r * record + k, rec[k], format.label_counts[k] - 1,
                        labels_n > 1 ? (k == 0 ? ", coarse label" : ", fine label") : ""));
      }
    }
  }
  const std::size_t first = static_cast<std::size_t>(split.count);
  split.pixels.resize((first + whole) * kCifarPixelBytes);
  split.labels.resize(first + whole);
  std::uint8_t* pixels = split.pixels.data() + first * kCifarPixelBytes;
  for (std::size_t r = 0; r < whole; ++r) {
    const std::uint8_t* rec = bytes + r * record;
    split.labels[first + r] = rec[format.label_kept];
    std::memcpy(pixels + r * kCifarPixelBytes, rec + labels_n, kCifarPixelBytes);
  }
  split.count += static_cast<std::int64_t>(whole);
}

void check_class_names(const std::vector<std::string>& names, const std::string& file) {
  check_names(names, file);
}

const std::vector<std::string>& cifar10_class_names() {
  static const std::vector<std::string> names = {
      "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  return names;
}

CifarFileFetcher directory_fetcher(const std::filesystem::path& dir) {
  return [dir](const std::string& name, std::vector<std::uint8_t>& bytes) {
    const auto path = dir / name;
    struct stat probe {};
    if (::lstat(path.c_str(), &probe) != 0 && errno == ENOENT) return false;
    const int fd = open_regular_file(path, "CIFAR file");  // a FIFO or /dev/zero is refused
    struct stat st {};
    ::fstat(fd, &st);
    bytes.resize(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < bytes.size()) {  // one pass: a handful of large reads straight into the buffer
      const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fd);
        throw InputError(fmt::format("{}: read failed at byte offset {}: {}", path.string(), done,
                                     n == 0 ? "file shrank while reading" : std::strerror(errno)));
      }
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return true;
  };
}

CifarSizeProbe directory_size_probe(const std::filesystem::path& dir) {
  return [dir](const std::string& name) -> std::optional<std::size_t> {
    std::error_code ec;
    const auto size = std::filesystem::file_size(dir / name, ec);
    if (ec) return std::nullopt;
    return static_cast<std::size_t>(size);
  };
}

Dataset load_cifar10(const CifarFileFetcher& fetch, const std::string& where,
                     const CifarSizeProbe& probe) {
  Dataset ds;
  ds.name = "cifar10";
  ds.source = where;
  std::vector<std::uint8_t> bytes;
  if (fetch("batches.meta.txt", bytes)) {
    ds.classes = parse_name_list(bytes);
    check_class_names(ds.classes, join_path(where, "batches.meta.txt"));
    if (ds.classes.empty() || ds.classes.size() > 256) {
      throw InputError(fmt::format("{}: expected 1 to 256 class names, one per line, found {}",
                                   join_path(where, "batches.meta.txt"), ds.classes.size()));
    }
  } else {
    ds.classes = cifar10_class_names();
  }
  const CifarRecordFormat format{{static_cast<int>(ds.classes.size())}, 0};
  std::vector<std::string> missing;
  auto read_into = [&](const std::string& name, Split& split) {
    if (!fetch(name, bytes)) {
      missing.push_back(name);
      return;
    }
    require_records(bytes, join_path(where, name), format.record_bytes());
    parse_cifar_records(bytes.data(), bytes.size(), join_path(where, name), format, split);
  };
  std::vector<std::string> train_files;
  for (int i = 1; i <= 5; ++i) train_files.push_back(fmt::format("data_batch_{}.bin", i));
  reserve_for(probe, train_files, format.record_bytes(), ds.train);
  reserve_for(probe, {"test_batch.bin"}, format.record_bytes(), ds.test);
  for (const auto& name : train_files) read_into(name, ds.train);
  read_into("test_batch.bin", ds.test);
  if (!missing.empty()) {
    throw InputError(
        fmt::format("{}: CIFAR-10 binary layout is missing {} (expected "
                    "data_batch_1.bin … data_batch_5.bin and test_batch.bin)",
                    where, fmt::join(missing, ", ")));
  }
  require_nonempty(ds.train, "train", where);
  require_nonempty(ds.test, "test", where);
  return ds;
}

Dataset load_cifar100(const CifarFileFetcher& fetch, const std::string& where,
                      Cifar100Labels labels, const CifarSizeProbe& probe) {
  Dataset ds;
  ds.name = labels == Cifar100Labels::fine ? "cifar100-fine" : "cifar100-coarse";
  ds.source = where;
  std::vector<std::uint8_t> bytes;
  std::vector<std::string> coarse, fine;
  if (fetch("coarse_label_names.txt", bytes)) {
    coarse = parse_name_list(bytes);
    check_class_names(coarse, join_path(where, "coarse_label_names.txt"));
  }
  if (fetch("fine_label_names.txt", bytes)) {
    fine = parse_name_list(bytes);
    check_class_names(fine, join_path(where, "fine_label_names.txt"));
  }
  if (coarse.empty())
    for (int i = 0; i < 20; ++i) coarse.push_back(fmt::format("coarse{}", i));
  if (fine.empty())
    for (int i = 0; i < 100; ++i) fine.push_back(fmt::format("fine{}", i));
  if (coarse.size() > 256 || fine.size() > 256) {
    throw InputError(fmt::format("{}: more than 256 label names", where));
  }
  const CifarRecordFormat format{{static_cast<int>(coarse.size()), static_cast<int>(fine.size())},
                                 labels == Cifar100Labels::fine ? 1 : 0};
  ds.classes = labels == Cifar100Labels::fine ? fine : coarse;
  reserve_for(probe, {"train.bin"}, format.record_bytes(), ds.train);
  reserve_for(probe, {"test.bin"}, format.record_bytes(), ds.test);
  std::vector<std::string> missing;
  for (const auto& [name, split] : {std::pair{"train.bin", &ds.train}, {"test.bin", &ds.test}}) {
    if (!fetch(name, bytes)) {
      missing.emplace_back(name);
      continue;
    }
    require_records(bytes, join_path(where, name), format.record_bytes());
    parse_cifar_records(bytes.data(), bytes.size(), join_path(where, name), format, *split);
  }
  if (!missing.empty()) {
    throw InputError(
        fmt::format("{}: CIFAR-100 binary layout is missing {} (expected train.bin "
                    "and test.bin)",
                    where, fmt::join(missing, ", ")));
  }
  require_nonempty(ds.train, "train", where);
  require_nonempty(ds.test, "test", where);
  return ds;
}

Dataset load_cifar10_dir(const std::filesystem::path& dir) {
  return load_cifar10(directory_fetcher(dir), dir.string(), directory_size_probe(dir));
}

Dataset load_cifar100_dir(const std::filesystem::path& dir, Cifar100Labels labels) {
  return load_cifar100(directory_fetcher(dir), dir.string(), labels, directory_size_probe(dir));
}

bool is_cifar10_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::exists(dir / "data_batch_1.bin", ec) ||
         std::filesystem::exists(dir / "test_batch.bin", ec);
}

bool is_cifar100_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::exists(dir / "train.bin", ec) ||
         std::filesystem::exists(dir / "test.bin", ec);
}

std::vector<std::string> write_cifar10_layout(const Dataset& dataset,
                                              const std::filesystem::path& dir) {
  if (dataset.channels != 3 || dataset.height != kCifarSide || dataset.width != kCifarSide) {
    throw InputError(
        fmt::format("{}: the CIFAR binary layout holds 3×32×32 images, this dataset "
                    "has {}×{}×{} (import with --resize 32)",
                    dataset.source, dataset.channels, dataset.height, dataset.width));
  }
  if (dataset.classes.empty() || dataset.classes.size() > 256) {
    throw InputError(fmt::format("{}: the CIFAR binary layout holds 1 to 256 classes, not {}",
                                 dataset.source, dataset.classes.size()));
  }
  // Five data_batch files, none empty (an empty one is refused when read back).
  if (dataset.train.count < 5) {
    throw InputError(fmt::format("{}: the CIFAR binary layout spreads the training images over "
                                 "five data_batch files; {} training image(s) cannot fill them",
                                 dataset.source, dataset.train.count));
  }
  if (dataset.test.count < 1) {
    throw InputError(fmt::format("{}: no test images to write to test_batch.bin", dataset.source));
  }
  // batches.meta.txt holds one name a line: a name with a newline would read back as two.
  check_class_names(dataset.classes, dataset.source + " (class names)");
  std::vector<std::string> written;
  auto write_records = [&](const std::string& name, const Split& split, std::int64_t begin,
                           std::int64_t end) {
    std::vector<std::uint8_t> out;
    out.reserve(static_cast<std::size_t>(end - begin) * (kCifarPixelBytes + 1));
    for (std::int64_t i = begin; i < end; ++i) {
      out.push_back(static_cast<std::uint8_t>(split.labels[static_cast<std::size_t>(i)]));
      const std::uint8_t* px = split.image(i, static_cast<std::int64_t>(kCifarPixelBytes));
      out.insert(out.end(), px, px + kCifarPixelBytes);
    }
    std::ofstream file(dir / name, std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
    file.close();
    if (!file) throw InputError(fmt::format("{}: write failed", (dir / name).string()));
    written.push_back(name);
  };
  const std::int64_t n = dataset.train.count;
  for (int b = 0; b < 5; ++b) {
    write_records(fmt::format("data_batch_{}.bin", b + 1), dataset.train, n * b / 5,
                  n * (b + 1) / 5);
  }
  write_records("test_batch.bin", dataset.test, 0, dataset.test.count);
  std::ofstream meta(dir / "batches.meta.txt", std::ios::trunc);
  for (const auto& c : dataset.classes) meta << c << '\n';
  meta.close();
  if (!meta) throw InputError(fmt::format("{}: write failed", (dir / "batches.meta.txt").string()));
  written.push_back("batches.meta.txt");
  return written;
}

}  // namespace cb::data
