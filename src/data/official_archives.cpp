#include "data/official_archives.h"

#include <fmt/format.h>

#include <cstdlib>

#include "core/error.h"

namespace cb::data {

const std::vector<OfficialArchive>& official_archives() {
  static const std::vector<OfficialArchive> list = {
      {"cifar10", "cifar-10-binary.tar.gz",
       "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
       "c32a1d4ab5d03f1284b67883e8d87530", "cifar-10-batches-bin"},
      {"cifar100", "cifar-100-binary.tar.gz",
       "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
       "03b5dce01913d631647c71ecec9e9cb8", "cifar-100-binary"},
  };
  return list;
}

const OfficialArchive& official_archive_for(std::string_view dataset) {
  const std::string_view base = dataset.starts_with("cifar100") ? "cifar100" : dataset;
  for (const auto& a : official_archives()) {
    if (a.dataset == base) return a;
  }
  throw InputError(
      fmt::format("--dataset: '{}' has no official archive (expected cifar10, "
                  "cifar100, cifar100-fine or cifar100-coarse)",
                  dataset));
}

std::filesystem::path cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    return std::filesystem::path(xdg) / "cifarbench";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::filesystem::path(home) / ".cache" / "cifarbench";
  }
  throw InputError(
      "cannot place the data cache: neither XDG_CACHE_HOME nor HOME is set "
      "(set one, or pass --data)");
}

}  // namespace cb::data
