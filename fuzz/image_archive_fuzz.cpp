// Fuzzes the archive reader behind image-folder datasets (tar, tar.gz, zip; image folders or
// CIFAR binary inside): any bytes must load or raise cb::Error, never crash or hang.
#include <cstddef>
#include <cstdint>

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "data/image_folder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  cb::data::ImageFolderOptions options;
  options.decode_threads = 1;
  try {
    const auto ds = cb::data::load_archive_memory(data, size, "fuzz.tar", options);
    if (ds.train.count <= 0 || ds.test.count <= 0) __builtin_trap();  // loaded means non-empty
  } catch (const cb::Error&) {
  }
  return 0;
}
