// CIFAR-10 and CIFAR-100 in their official binary layout: records of label byte(s) followed by
// 3,072 pixel bytes (R, G, B planes of 32×32, rows top to bottom), read whole into memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace cb::data {

inline constexpr int kCifarSide = 32;
inline constexpr std::size_t kCifarPixelBytes = 3 * kCifarSide * kCifarSide;

// One record layout: how many label bytes lead each record, the range of each, which one is kept.
struct CifarRecordFormat {
  std::vector<int> label_counts;  // {10} for CIFAR-10; {20, 100} (coarse, fine) for CIFAR-100
  int label_kept = 0;             // index into label_counts of the label stored in the Split
  std::size_t record_bytes() const { return label_counts.size() + kCifarPixelBytes; }
};

enum class Cifar100Labels { fine, coarse };

// Appends the records in `bytes` to `split`. InputError names `file` and the byte offset of the
// first bad record: a size that is not a whole number of records, or a label out of range.
void parse_cifar_records(const std::uint8_t* bytes, std::size_t size, const std::string& file,
                         const CifarRecordFormat& format, Split& split);

// Fetches one file of a CIFAR layout by its name (e.g. "test_batch.bin") into `bytes`;
// returns false when it is absent. Lets directories and archives share one reader.
using CifarFileFetcher =
    std::function<bool(const std::string& name, std::vector<std::uint8_t>& bytes)>;

// The size in bytes of one file of the layout, if known without reading it; lets the loader
// allocate each split once instead of growing (and copying) it file by file.
using CifarSizeProbe = std::function<std::optional<std::size_t>(const std::string& name)>;

// data_batch_1.bin … data_batch_5.bin, test_batch.bin and (optionally) batches.meta.txt.
// `where` prefixes file names in errors and becomes Dataset::source.
Dataset load_cifar10(const CifarFileFetcher& fetch, const std::string& where,
                     const CifarSizeProbe& probe = nullptr);
// train.bin, test.bin, fine_label_names.txt, coarse_label_names.txt.
Dataset load_cifar100(const CifarFileFetcher& fetch, const std::string& where,
                      Cifar100Labels labels, const CifarSizeProbe& probe = nullptr);

// The same, from a directory (each file read in one pass).
Dataset load_cifar10_dir(const std::filesystem::path& dir);
Dataset load_cifar100_dir(const std::filesystem::path& dir, Cifar100Labels labels);
CifarFileFetcher directory_fetcher(const std::filesystem::path& dir);
CifarSizeProbe directory_size_probe(const std::filesystem::path& dir);

bool is_cifar10_dir(const std::filesystem::path& dir);   // has data_batch_1.bin or test_batch.bin
bool is_cifar100_dir(const std::filesystem::path& dir);  // has train.bin or test.bin

// Checks class names: printable UTF-8 on one line (no control characters: a newline would
// read back as two classes), each once. InputError naming `file` and the name otherwise.
void check_class_names(const std::vector<std::string>& names, const std::string& file);

// The ten CIFAR-10 class names in label order (airplane … truck).
const std::vector<std::string>& cifar10_class_names();

// Writes `dataset` (3×32×32, at most 256 classes) in the CIFAR-10 layout into the existing
// directory `dir`: the train split over five data_batch files, test_batch.bin, batches.meta.txt.
// Returns the names of the files written.
std::vector<std::string> write_cifar10_layout(const Dataset& dataset,
                                              const std::filesystem::path& dir);

}  // namespace cb::data
