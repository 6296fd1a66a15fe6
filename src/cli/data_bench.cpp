// `cifarbench data bench`: images/s of the input pipeline on synthetic CIFAR-sized data, for each
// transform alone and for the default recipe, on one thread and through the prefetch stream.
#include <fmt/format.h>

#include <time.h>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "cli/command.h"
#include "core/rng.h"
#include "data/batcher.h"
#include "data/prefetch.h"
#include "data/sampler.h"

namespace cb::cli {
namespace {
using Clock = std::chrono::steady_clock;

struct BenchOptions {
  int workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int batch_size = 128;
  double seconds = 0.5;
};

constexpr std::int64_t kImages = 10000;

data::Dataset random_cifar_sized() {
  data::Dataset d;
  d.name = "random";
  d.source = "synthetic(random pixels, seed=1)";
  d.synthetic = true;
  d.classes.assign(10, "class");
  d.train.count = kImages;
  d.train.pixels.resize(static_cast<std::size_t>(kImages * d.image_bytes()));
  Rng rng(1);
  for (std::size_t k = 0; k < d.train.pixels.size(); k += 8) {
    const std::uint64_t bits = rng.next_u64();
    for (std::size_t b = 0; b < 8 && k + b < d.train.pixels.size(); ++b) {
      d.train.pixels[k + b] = static_cast<std::uint8_t>(bits >> (8 * b));
    }
  }
  for (std::int64_t i = 0; i < kImages; ++i) d.train.labels.push_back(static_cast<int>(i % 10));
  return d;
}

const data::Normalization kCifarStats{{0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU seconds this thread has run: on a shared machine, wall time also counts other programs.
double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

struct Rate {
  double wall = 0;  // images per wall-clock second
  double cpu = 0;   // images per CPU second of the measuring thread (0: not measured)
};

// Images/s of batches assembled on this thread, epoch after epoch, for at least `seconds`.
Rate single_thread_rate(const data::Dataset& d, const data::PipelineConfig& config,
                        double seconds) {
  const data::Batcher batcher(d, d.train, config, kCifarStats, 7, true);
  data::Batch batch;
  std::int64_t images = 0;
  const auto start = Clock::now();
  const double cpu_start = thread_cpu_seconds();
  for (std::int64_t epoch = 0;; ++epoch) {
    const auto order = data::shuffled_order(kImages, 7, epoch);
    for (std::int64_t at = 0; at + config.batch_size <= kImages; at += config.batch_size) {
      batcher.assemble({order.data() + at, static_cast<std::size_t>(config.batch_size)}, epoch,
                       batch);
      images += batch.n;
      const double wall = seconds_since(start);
      if (wall >= seconds) {
        const auto n = static_cast<double>(images);
        return {n / wall, n / (thread_cpu_seconds() - cpu_start)};
      }
    }
  }
}

// Images/s delivered by the prefetch stream to a consumer that takes each batch at once.
Rate stream_rate(const data::Dataset& d, const data::PipelineConfig& config, double seconds) {
  const data::Batcher batcher(d, d.train, config, kCifarStats, 7, true);
  const data::Sampler sampler(kImages, 7, true);
  data::Batch batch;
  std::int64_t images = 0;
  const auto start = Clock::now();
  for (std::int64_t epoch = 0; seconds_since(start) < seconds; ++epoch) {
    data::BatchStream stream = data::training_batches(batcher, sampler, epoch, config);
    while (seconds_since(start) < seconds && stream.next(batch)) images += batch.n;
  }
  return {static_cast<double>(images) / seconds_since(start), 0};
}

std::string thousands(double v) {
  if (v <= 0) return "-";
  const std::string digits = fmt::format("{:.0f}", v);
  std::string out;  // built forwards: GCC 12 misreports string::insert under -Wrestrict
  for (std::size_t k = 0; k < digits.size(); ++k) {
    if (k > 0 && (digits.size() - k) % 3 == 0) out += ',';
    out += digits[k];
  }
  return out;
}

void run_bench(const BenchOptions& o) {
  const data::Dataset d = random_cifar_sized();
  fmt::print("Input pipeline throughput on synthetic data (random pixels; speed only): {} images "
             "3x32x32, batch {}, {:.2g} s per row\n\n",
             kImages, o.batch_size, o.seconds);
  auto alone = [&](const std::function<void(data::PipelineConfig&)>& change) {
    data::PipelineConfig c;
    c.batch_size = o.batch_size;
    c.augment.crop_padding = 0;
    c.augment.flip = data::FlipMode::none;
    change(c);
    return c;
  };
  const std::vector<std::pair<std::string, data::PipelineConfig>> steps = {
      {"normalize (mean/std) only", alone([](auto&) {})},
      {"+ crop 4, zero padding", alone([](auto& c) { c.augment.crop_padding = 4; })},
      {"+ crop 4, reflect padding", alone([](auto& c) {
         c.augment.crop_padding = 4;
         c.augment.crop_fill = data::CropFill::reflect;
       })},
      {"+ random flip", alone([](auto& c) { c.augment.flip = data::FlipMode::random; })},
      {"+ alternating flip", alone([](auto& c) { c.augment.flip = data::FlipMode::alternating; })},
      {"+ rotation +-15 deg (bilinear)", alone([](auto& c) { c.augment.rotation_degrees = 15; })},
      {"+ brightness 0.4", alone([](auto& c) { c.augment.brightness = 0.4; })},
      {"+ contrast 0.4", alone([](auto& c) { c.augment.contrast = 0.4; })},
      {"+ cutout 16", alone([](auto& c) { c.augment.cutout = 16; })},
      {"+ resize to 64x64 (bilinear)", alone([](auto& c) {
         c.resize_height = 64;
         c.resize_width = 64;
       })},
  };
  auto row = [](const std::string& name, Rate r) {
    fmt::print("  {:<50} {:>12} {:>12}\n", name, thousands(r.wall), thousands(r.cpu));
    std::fflush(stdout);
  };
  fmt::print("{:<52} {:>12} {:>12}\n", "each step alone (float32 NCHW, 1 thread)", "images/s",
             "per CPU-s");
  for (const auto& [name, config] : steps) row(name, single_thread_rate(d, config, o.seconds));
  data::PipelineConfig recipe;
  recipe.batch_size = o.batch_size;
  fmt::print("\n{:<52} {:>12} {:>12}\n", "default recipe (crop 4 + random flip + mean/std)",
             "images/s", "per CPU-s");
  data::PipelineConfig nhwc = recipe, u8 = recipe;
  nhwc.layout = data::Layout::nhwc;
  u8.precision = data::Precision::uint8;
  row("float32 NCHW, 1 thread", single_thread_rate(d, recipe, o.seconds));
  row("float32 NHWC, 1 thread", single_thread_rate(d, nhwc, o.seconds));
  row("uint8 NCHW, 1 thread", single_thread_rate(d, u8, o.seconds));
  data::PipelineConfig streamed = recipe;
  streamed.workers = o.workers;
  row(fmt::format("float32 NCHW, prefetch stream, {} worker{}", o.workers,
                  o.workers == 1 ? "" : "s"),
      stream_rate(d, streamed, o.seconds));
  fmt::print("\nimages/s is wall-clock; per CPU-s divides by the measuring thread's CPU time, "
             "which other programs on a busy machine do not inflate.\n");
}

const CommandRegistration data_bench_registration{"data bench", 41, [](CLI::App& app) {
  // Get-or-create: data.cpp adds the same `data` command (CLI11 2.1 has no _no_throw getter).
  CLI::App* data = nullptr;
  for (CLI::App* sub : app.get_subcommands([](CLI::App* s) { return s->get_name() == "data"; })) {
    data = sub;
  }
  if (!data) {
    data = app.add_subcommand("data", "Import, inspect, verify, download and benchmark datasets");
  }
  data->require_subcommand(1);
  auto options = std::make_shared<BenchOptions>();
  auto* bench = data->add_subcommand(
      "bench", "Images/s of the input pipeline (each transform, the default recipe, the prefetch "
               "stream) on synthetic CIFAR-sized data");
  bench->add_option("--workers", options->workers, "prefetch worker threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  bench->add_option("--batch-size", options->batch_size, "images per batch")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  bench->add_option("--seconds", options->seconds, "measuring time per row")
      ->check(CLI::Range(0.01, 600.0))
      ->capture_default_str();
  bench->callback([options] { run_bench(*options); });
}};

}  // namespace
}  // namespace cb::cli
