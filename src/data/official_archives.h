// The published CIFAR archives (URL, file name, MD5) and where downloads are cached.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace cb::data {

struct OfficialArchive {
  std::string dataset;        // "cifar10" or "cifar100"
  std::string file_name;      // cifar-10-binary.tar.gz
  std::string url;            // https://www.cs.toronto.edu/~kriz/...
  std::string md5;            // as published beside the archive
  std::string extracted_dir;  // the folder the archive holds: cifar-10-batches-bin
};

const std::vector<OfficialArchive>& official_archives();
// For "cifar10", "cifar100", "cifar100-fine" or "cifar100-coarse"; InputError otherwise.
const OfficialArchive& official_archive_for(std::string_view dataset);

// $XDG_CACHE_HOME/cifarbench, else $HOME/.cache/cifarbench (not created here).
std::filesystem::path cache_dir();

}  // namespace cb::data
