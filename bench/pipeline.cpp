// Input pipeline throughput (images/s) on synthetic CIFAR-sized data: the default recipe's hot
// loop (crop 4 + flip + normalize into float32 NCHW) on one core, each transform alone, and the
// prefetch stream with several workers.
#include <benchmark/benchmark.h>

#include <functional>

#include "core/rng.h"
#include "data/batcher.h"
#include "data/prefetch.h"
#include "data/sampler.h"

namespace {
using namespace cb::data;

constexpr int kImages = 10000;
constexpr int kBatch = 128;

const Dataset& cifar_sized() {
  static const Dataset d = [] {
    Dataset d;
    d.name = "random";
    d.classes.assign(10, "c");
    d.train.count = kImages;
    d.train.pixels.resize(static_cast<std::size_t>(kImages) * d.image_bytes());
    cb::Rng rng(1);
    for (auto& p : d.train.pixels) p = static_cast<std::uint8_t>(rng.next_u64() >> 56);
    for (int i = 0; i < kImages; ++i) d.train.labels.push_back(i % 10);
    return d;
  }();
  return d;
}

const Normalization kCifarStats{{0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}};

// Assembles batches of a shuffled epoch on the calling thread.
void assemble_batches(benchmark::State& state, const PipelineConfig& config) {
  const Dataset& d = cifar_sized();
  const Batcher batcher(d, d.train, config, kCifarStats, 7, true);
  const auto order = shuffled_order(kImages, 7, 0);
  Batch batch;
  std::int64_t epoch = 0, start = 0;
  for (auto _ : state) {
    if (start + kBatch > kImages) {
      start = 0;
      ++epoch;
    }
    batcher.assemble({order.data() + start, kBatch}, epoch, batch);
    benchmark::DoNotOptimize(batch.data.data());
    benchmark::DoNotOptimize(batch.data_u8.data());
    start += kBatch;
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

PipelineConfig with(const std::function<void(PipelineConfig&)>& change) {
  PipelineConfig c;
  c.augment.crop_padding = 0;
  c.augment.flip = FlipMode::none;
  change(c);
  return c;
}

void BM_DefaultRecipe_CropFlipNormalize_NCHW(benchmark::State& state) {
  assemble_batches(state, PipelineConfig{});
}
BENCHMARK(BM_DefaultRecipe_CropFlipNormalize_NCHW);

void BM_DefaultRecipe_NHWC(benchmark::State& state) {
  assemble_batches(state, with([](PipelineConfig& c) {
                     c = PipelineConfig{};
                     c.layout = Layout::nhwc;
                   }));
}
BENCHMARK(BM_DefaultRecipe_NHWC);

void BM_DefaultRecipe_Uint8(benchmark::State& state) {
  assemble_batches(state, with([](PipelineConfig& c) {
                     c = PipelineConfig{};
                     c.precision = Precision::uint8;
                   }));
}
BENCHMARK(BM_DefaultRecipe_Uint8);

void BM_NormalizeOnly(benchmark::State& state) {
  assemble_batches(state, with([](PipelineConfig&) {}));
}
BENCHMARK(BM_NormalizeOnly);

void BM_CropReflect(benchmark::State& state) {
  assemble_batches(state, with([](PipelineConfig& c) {
                     c.augment.crop_padding = 4;
                     c.augment.crop_fill = CropFill::reflect;
                   }));
}
BENCHMARK(BM_CropReflect);

void BM_Rotation15(benchmark::State& state) {
  assemble_batches(state, with([](PipelineConfig& c) { c.augment.rotation_degrees = 15; }));
}
BENCHMARK(BM_Rotation15);

void BM_BrightnessContrast(benchmark::State& state) {
  assemble_batches(state, with([](PipelineConfig& c) {
                     c.augment.brightness = 0.4;
                     c.augment.contrast = 0.4;
                   }));
}
BENCHMARK(BM_BrightnessContrast);

void BM_Cutout16(benchmark::State& state) {
  assemble_batches(state, with([](PipelineConfig& c) { c.augment.cutout = 16; }));
}
BENCHMARK(BM_Cutout16);

void BM_Resize64(benchmark::State& state) {
  assemble_batches(state, with([](PipelineConfig& c) {
                     c.resize_height = 64;
                     c.resize_width = 64;
                   }));
}
BENCHMARK(BM_Resize64);

// The prefetch stream with state.range(0) workers, consumed as fast as it delivers.
void BM_DefaultRecipe_Stream(benchmark::State& state) {
  const Dataset& d = cifar_sized();
  PipelineConfig config;
  config.workers = static_cast<int>(state.range(0));
  const Batcher batcher(d, d.train, config, kCifarStats, 7, true);
  const Sampler sampler(kImages, 7, true);
  std::int64_t images = 0, epoch = 0;
  Batch batch;
  for (auto _ : state) {
    BatchStream stream = training_batches(batcher, sampler, epoch++, config);
    while (stream.next(batch)) images += batch.n;
  }
  state.SetItemsProcessed(images);
}
BENCHMARK(BM_DefaultRecipe_Stream)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
