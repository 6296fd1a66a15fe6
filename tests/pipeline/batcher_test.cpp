// Batches: contents, layouts, determinism across worker counts, and clean shutdown.
#include "data/batcher.h"

#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>

#include "core/error.h"
#include "data/prefetch.h"
#include "test_images.h"

namespace cb::data {
namespace {
using testing::pattern_dataset;

PipelineConfig augmenting_config() {
  PipelineConfig c;
  c.batch_size = 16;
  c.augment.rotation_degrees = 10;
  c.augment.brightness = 0.2;
  c.augment.contrast = 0.2;
  c.augment.cutout = 3;
  return c;
}

// Byte-for-byte equality (a float == would call −0 and +0 equal).
bool same_bytes(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// Every batch of one epoch, in delivery order.
std::vector<Batch> epoch_batches(const Dataset& d, PipelineConfig config, int workers,
                                 std::int64_t epoch) {
  config.workers = workers;
  const Normalization stats = resolve_normalization(config.normalize, d);
  const Batcher batcher(d, d.train, config, stats, 11, true);
  const Sampler sampler(d.train.count, 11, true);
  BatchStream stream = training_batches(batcher, sampler, epoch, config);
  std::vector<Batch> out;
  Batch b;
  while (stream.next(b)) out.push_back(b);
  return out;
}

TEST(Batcher, BatchesAreByteIdenticalWithOneAndFourWorkers) {
  const Dataset d = pattern_dataset(200, 10);
  for (const Precision precision : {Precision::float32, Precision::uint8}) {
    PipelineConfig config = augmenting_config();
    config.precision = precision;
    const auto one = epoch_batches(d, config, 1, 3);
    const auto four = epoch_batches(d, config, 4, 3);
    const auto inline_batches = epoch_batches(d, config, 0, 3);
    ASSERT_GT(one.size(), 1u);
    ASSERT_EQ(one.size(), four.size());
    ASSERT_EQ(one.size(), inline_batches.size());
    for (std::size_t k = 0; k < one.size(); ++k) {
      EXPECT_TRUE(same_bytes(one[k].data, four[k].data));
      EXPECT_EQ(one[k].data_u8, four[k].data_u8);
      EXPECT_EQ(one[k].labels, four[k].labels);
      EXPECT_EQ(one[k].indices, four[k].indices);
      EXPECT_EQ(one[k].data_u8, inline_batches[k].data_u8);
      EXPECT_TRUE(same_bytes(one[k].data, inline_batches[k].data));
    }
  }
}

TEST(Batcher, DifferentEpochsAugmentDifferently) {
  const Dataset d = pattern_dataset(32, 1);
  PipelineConfig config = augmenting_config();
  config.batch_size = 32;
  const auto a = epoch_batches(d, config, 1, 0);
  const auto b = epoch_batches(d, config, 1, 1);
  EXPECT_NE(a[0].indices, b[0].indices);
  EXPECT_NE(a[0].data, b[0].data);
}

TEST(Batcher, NchwAndNhwcHoldTheSameValues) {
  const Dataset d = pattern_dataset(40, 1, 3, 6, 5);
  PipelineConfig nchw = augmenting_config();
  PipelineConfig nhwc = nchw;
  nhwc.layout = Layout::nhwc;
  const auto a = epoch_batches(d, nchw, 2, 1);
  const auto b = epoch_batches(d, nhwc, 2, 1);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(b[k].layout, Layout::nhwc);
    for (int n = 0; n < a[k].n; ++n)
      for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 6; ++y)
          for (int x = 0; x < 5; ++x)
            ASSERT_EQ(a[k].data[((n * 3 + c) * 6 + y) * 5 + x],
                      b[k].data[((n * 6 + y) * 5 + x) * 3 + c]);
  }
}

TEST(Batcher, LabelsAndIndicesFollowTheSampler) {
  const Dataset d = pattern_dataset(50, 1);
  PipelineConfig config;
  config.batch_size = 8;
  const auto batches = epoch_batches(d, config, 2, 4);
  const auto order = shuffled_order(50, 11, 4);
  ASSERT_EQ(batches.size(), 6u);  // drop_last: 50 / 8
  for (std::size_t k = 0; k < batches.size(); ++k) {
    EXPECT_EQ(batches[k].n, 8);
    for (int j = 0; j < 8; ++j) {
      EXPECT_EQ(batches[k].indices[j], order[k * 8 + j]);
      EXPECT_EQ(batches[k].labels[j], d.train.labels[order[k * 8 + j]]);
    }
  }
}

TEST(Batcher, KeepLastDeliversTheShortFinalBatch) {
  const Dataset d = pattern_dataset(50, 1);
  PipelineConfig config;
  config.batch_size = 8;
  config.drop_last = false;
  const auto batches = epoch_batches(d, config, 2, 0);
  ASSERT_EQ(batches.size(), 7u);
  EXPECT_EQ(batches.back().n, 2);
  EXPECT_EQ(batches.back().data.size(), 2u * 3 * 8 * 8);
}

TEST(Batcher, AnEpochOfBatchesVisitsEverySampleExactlyOnce) {
  const Dataset d = pattern_dataset(101, 1);
  PipelineConfig config;
  config.batch_size = 16;
  config.drop_last = false;
  std::vector<int> visits(101, 0);
  for (const Batch& b : epoch_batches(d, config, 3, 2)) {
    for (const std::int64_t i : b.indices) ++visits[static_cast<std::size_t>(i)];
  }
  EXPECT_EQ(visits, std::vector<int>(101, 1));
}

TEST(Batcher, EvaluationBatchesAreTheWholeSplitInOrderUnaugmented) {
  const Dataset d = pattern_dataset(10, 21);
  PipelineConfig config;  // crop + flip on, which evaluation ignores
  config.batch_size = 8;
  config.normalize.mode = NormalizeMode::unit;
  const Batcher eval(d, d.test, config, resolve_normalization(config.normalize, d), 1, false);
  BatchStream stream = evaluation_batches(eval, config);
  Batch b;
  std::int64_t next = 0;
  while (stream.next(b)) {
    for (int j = 0; j < b.n; ++j, ++next) {
      ASSERT_EQ(b.indices[j], next);
      const std::uint8_t* image = d.test.image(next, d.image_bytes());
      for (int k = 0; k < 3 * 64; ++k) ASSERT_FLOAT_EQ(b.data[j * 192 + k], image[k] / 255.0f);
    }
  }
  EXPECT_EQ(next, 21);
}

TEST(Batcher, Uint8BatchesHoldRawPixels) {
  const Dataset d = pattern_dataset(4, 1);
  PipelineConfig config;
  config.precision = Precision::uint8;
  const Batcher eval(d, d.train, config, resolve_normalization(config.normalize, d), 1, false);
  Batch b;
  const std::vector<std::int64_t> indices = {2, 0};
  eval.assemble(indices, 0, b);
  EXPECT_TRUE(b.data.empty());
  ASSERT_EQ(b.data_u8.size(), 2u * 192);
  EXPECT_EQ(0, std::memcmp(b.data_u8.data(), d.train.image(2, 192), 192));
  EXPECT_EQ(0, std::memcmp(b.data_u8.data() + 192, d.train.image(0, 192), 192));
}

TEST(Prefetch, DestroyingTheStreamMidEpochStopsTheWorkers) {
  const Dataset d = pattern_dataset(400, 1);
  PipelineConfig config = augmenting_config();
  config.batch_size = 4;
  config.workers = 4;
  config.prefetch = 2;
  const Batcher batcher(d, d.train, config, resolve_normalization(config.normalize, d), 1, true);
  const Sampler sampler(d.train.count, 1, true);
  for (int consumed = 0; consumed < 3; ++consumed) {
    BatchStream stream = training_batches(batcher, sampler, 0, config);
    Batch b;
    for (int k = 0; k < consumed; ++k) ASSERT_TRUE(stream.next(b));
  }  // each destructor returns only once its workers have exited
  BatchStream stopped = training_batches(batcher, sampler, 0, config);
  stopped.stop();
  Batch b;
  EXPECT_FALSE(stopped.next(b));
}

TEST(Prefetch, AWorkersErrorReachesTheConsumer) {
  const Dataset d = pattern_dataset(10, 1);
  PipelineConfig config;
  config.batch_size = 2;
  const Batcher batcher(d, d.train, config, resolve_normalization(config.normalize, d), 1, true);
  BatchStream stream(batcher, {0, 1, 2, 999}, 0, 2, false, 2, 2);  // 999 is not in the split
  Batch b;
  EXPECT_TRUE(stream.next(b));
  EXPECT_THROW(stream.next(b), CheckFailed);
}

TEST(Prefetch, BatchCountFollowsTheDropRule) {
  EXPECT_EQ(batch_count(50, 8, true), 6);
  EXPECT_EQ(batch_count(50, 8, false), 7);
  EXPECT_EQ(batch_count(48, 8, false), 6);
  EXPECT_EQ(batch_count(0, 8, false), 0);
}

}  // namespace
}  // namespace cb::data
