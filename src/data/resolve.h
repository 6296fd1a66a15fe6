// Finding the data a command needs: --data, else CIFARBENCH_DATA, else the cache, else a
// download; when all fail, an InputError (exit 2) that lists every way to provide data.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/synthetic.h"

namespace cb::data {

struct DataRequest {
  // cifar10, cifar100 (= cifar100-fine), cifar100-fine, cifar100-coarse, or synthetic.
  std::string dataset = "cifar10";
  std::string path;            // --data; empty if not given
  bool allow_download = true;  // the last resort; off for commands that must not touch the network
  int decode_threads = 0;      // image folders and archives: 0 = one thread per core
  std::optional<int> resize;   // image folders: resample to this square side
  std::vector<std::string> classes;  // image folders: label order; empty = sorted folder names
  SyntheticOptions synthetic;        // used when dataset is "synthetic"
};

// The dataset named by the request, found as the header comment says.
Dataset resolve_dataset(const DataRequest& request);

// Loads whatever `path` holds: a CIFAR-10/100 binary folder (or a folder whose only subfolder is
// one), an image folder, or a .tar/.tar.gz/.tgz/.zip archive of either.
Dataset load_dataset_at(const std::filesystem::path& path, const DataRequest& request);

// `n` images of `split` spread evenly over it (indices ⌊i·count/n⌋): a split stored class by
// class (an image folder) keeps every class in proportion; the whole split when n ≥ count.
Split evenly_spaced(const Split& split, std::int64_t image_bytes, std::int64_t n);

// Throws InputError unless `dataset` is one of the names DataRequest::dataset accepts.
void check_dataset_name(const std::string& dataset);

}  // namespace cb::data
