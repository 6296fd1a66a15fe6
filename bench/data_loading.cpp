// Dataset loading speed: CIFAR-10 binary from the page cache (target ≥ 1 GB/s) and importing the
// real JPEG archive with one and with every decoding thread (images/s).
//   bench_data_loading [--benchmark_filter=...]; CIFARBENCH_JPEG_ARCHIVE overrides the archive.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "data/cifar_binary.h"
#include "data/image_folder.h"
#include "data/import.h"
#include "data/synthetic.h"

namespace {
namespace fs = std::filesystem;

// A full-size CIFAR-10 binary folder (50,000 + 10,000 records, 184 MB), written once per process.
const fs::path& cifar10_binary_dir() {
  static const fs::path dir = [] {
    const fs::path d =
        fs::temp_directory_path() / ("cifarbench-bench-" + std::to_string(::getpid()));
    cb::data::SyntheticOptions o;
    o.seed = 1;
    cb::data::Dataset ds = cb::data::make_synthetic(o);
    fs::create_directories(d);
    cb::data::write_cifar10_layout(ds, d);
    std::atexit([] {
      fs::remove_all(fs::temp_directory_path() /
                     ("cifarbench-bench-" + std::to_string(::getpid())));
    });
    return d;
  }();
  return dir;
}

fs::path jpeg_archive() {
  if (const char* p = std::getenv("CIFARBENCH_JPEG_ARCHIVE"); p && *p) return p;
  return "/work/shared/data/cifar10-jpeg.tar.gz";
}

void BM_LoadCifar10Binary(benchmark::State& state) {
  const fs::path& dir = cifar10_binary_dir();
  cb::data::load_cifar10_dir(dir);  // warm the page cache
  std::int64_t bytes = 0;
  for (auto _ : state) {
    const auto ds = cb::data::load_cifar10_dir(dir);
    benchmark::DoNotOptimize(ds.train.pixels.data());
    bytes += (ds.train.count + ds.test.count) *
             static_cast<std::int64_t>(cb::data::kCifarPixelBytes + 1);
  }
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_LoadCifar10Binary)->Unit(benchmark::kMillisecond)->UseRealTime();

// Archive → decoded in memory → CIFAR binary folder on disk, as `cifarbench data import` does.
void BM_ImportJpegArchive(benchmark::State& state) {
  const fs::path archive = jpeg_archive();
  if (!fs::exists(archive)) {
    state.SkipWithError(("no archive at " + archive.string()).c_str());
    return;
  }
  cb::data::ImageFolderOptions options;
  options.decode_threads = static_cast<int>(state.range(0));
  const fs::path out =
      fs::temp_directory_path() / ("cifarbench-bench-import-" + std::to_string(::getpid()));
  std::int64_t images = 0;
  for (auto _ : state) {
    const auto ds = cb::data::load_archive(archive, options);
    cb::data::import_dataset(ds, out, /*replace=*/true);
    images += ds.train.count + ds.test.count;
  }
  fs::remove_all(out);
  state.SetItemsProcessed(images);
  state.counters["threads"] = static_cast<double>(options.decode_threads);
}
BENCHMARK(BM_ImportJpegArchive)
    ->Arg(1)
    ->Arg(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true);

// Reading and decoding alone, without writing the CIFAR folder: separates decoding from disk
// writes.
void BM_LoadJpegArchive(benchmark::State& state) {
  const fs::path archive = jpeg_archive();
  if (!fs::exists(archive)) {
    state.SkipWithError(("no archive at " + archive.string()).c_str());
    return;
  }
  cb::data::ImageFolderOptions options;
  options.decode_threads = static_cast<int>(state.range(0));
  std::int64_t images = 0;
  for (auto _ : state) {
    const auto ds = cb::data::load_archive(archive, options);
    images += ds.train.count + ds.test.count;
  }
  state.SetItemsProcessed(images);
}
BENCHMARK(BM_LoadJpegArchive)
    ->Arg(1)
    ->Arg(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true);

}  // namespace

BENCHMARK_MAIN();
