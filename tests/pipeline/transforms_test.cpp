// Each transform on small hand-computed cases.
#include "data/transforms.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "test_images.h"

namespace cb::data {
namespace {
using testing::pattern_image;

Normalization unit_stats(int channels) {
  return {std::vector<double>(channels, 0.0), std::vector<double>(channels, 1.0)};
}

TEST(CropFlip, FlippingTwiceIsTheIdentity) {
  const auto image = pattern_image(3, 5, 7);
  std::vector<std::uint8_t> once(image.size()), twice(image.size());
  crop_flip({image.data(), 3, 5, 7}, 0, CropFill::zero, {0, 0, true}, Layout::nchw, once.data());
  crop_flip({once.data(), 3, 5, 7}, 0, CropFill::zero, {0, 0, true}, Layout::nchw, twice.data());
  EXPECT_NE(once, image);
  EXPECT_EQ(twice, image);
}

TEST(CropFlip, FlipMirrorsEachRow) {
  const std::vector<std::uint8_t> image = {1, 2, 3, 4, 5, 6};  // 1 channel, 2 × 3
  std::vector<std::uint8_t> out(6);
  crop_flip({image.data(), 1, 2, 3}, 0, CropFill::zero, {0, 0, true}, Layout::nchw, out.data());
  EXPECT_EQ(out, (std::vector<std::uint8_t>{3, 2, 1, 6, 5, 4}));
}

TEST(CropFlip, CropAtOffsetEqualToPaddingIsTheIdentity) {
  const auto image = pattern_image(3, 8, 8);
  for (const CropFill fill : {CropFill::zero, CropFill::reflect}) {
    std::vector<std::uint8_t> out(image.size());
    crop_flip({image.data(), 3, 8, 8}, 4, fill, {4, 4, false}, Layout::nchw, out.data());
    EXPECT_EQ(out, image) << to_string(fill);
  }
}

TEST(CropFlip, ZeroPaddingShiftsInZeros) {
  const std::vector<std::uint8_t> image = {1, 2, 3, 4, 5, 6, 7, 8, 9};  // 1 × 3 × 3
  std::vector<std::uint8_t> out(9);
  // Window one up and one left of the image: the first row and column are padding.
  crop_flip({image.data(), 1, 3, 3}, 1, CropFill::zero, {0, 0, false}, Layout::nchw, out.data());
  EXPECT_EQ(out, (std::vector<std::uint8_t>{0, 0, 0, 0, 1, 2, 0, 4, 5}));
}

TEST(CropFlip, ReflectPaddingMirrorsWithoutRepeatingTheEdge) {
  const std::vector<std::uint8_t> image = {1, 2, 3, 4, 5, 6, 7, 8, 9};  // 1 × 3 × 3
  std::vector<std::uint8_t> out(9);
  crop_flip({image.data(), 1, 3, 3}, 1, CropFill::reflect, {2, 2, false}, Layout::nchw,
            out.data());
  // Shifted one down-right: row 3 reflects to row 1 and column 3 to column 1.
  EXPECT_EQ(out, (std::vector<std::uint8_t>{5, 6, 5, 8, 9, 8, 5, 6, 5}));
}

TEST(CropFlip, NhwcHoldsTheSameValuesAsNchw) {
  const auto image = pattern_image(3, 6, 5);
  std::vector<std::uint8_t> nchw(image.size()), nhwc(image.size());
  const CropPlacement p{1, 3, true};
  crop_flip({image.data(), 3, 6, 5}, 2, CropFill::reflect, p, Layout::nchw, nchw.data());
  crop_flip({image.data(), 3, 6, 5}, 2, CropFill::reflect, p, Layout::nhwc, nhwc.data());
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 6; ++y)
      for (int x = 0; x < 5; ++x)
        ASSERT_EQ(nchw[(c * 6 + y) * 5 + x], nhwc[(y * 5 + x) * 3 + c]) << c << y << x;
}

TEST(Normalize, ConstantImageNormalizesToTheExpectedConstant) {
  const std::vector<std::uint8_t> image(2 * 4 * 4, 51);  // 51 / 255 = 0.2
  const Normalization stats{{0.1, 0.5}, {0.25, 0.5}};
  std::vector<float> out(image.size());
  crop_flip_normalize({image.data(), 2, 4, 4}, 0, CropFill::zero, {}, NormalizeTable(stats),
                      Layout::nchw, out.data());
  for (int k = 0; k < 16; ++k) EXPECT_FLOAT_EQ(out[k], (0.2f - 0.1f) / 0.25f);
  for (int k = 16; k < 32; ++k) EXPECT_FLOAT_EQ(out[k], (0.2f - 0.5f) / 0.5f);
}

TEST(Normalize, UnitAndSymmetricScaleToTheirRanges) {
  Dataset d = testing::pattern_dataset(2, 1);
  NormalizeConfig unit{NormalizeMode::unit, {}, {}};
  NormalizeConfig symmetric{NormalizeMode::symmetric, {}, {}};
  const NormalizeTable u(resolve_normalization(unit, d));
  const NormalizeTable s(resolve_normalization(symmetric, d));
  EXPECT_FLOAT_EQ(u.channel(0)[0], 0.0f);
  EXPECT_FLOAT_EQ(u.channel(2)[255], 1.0f);
  EXPECT_FLOAT_EQ(s.channel(1)[0], -1.0f);
  EXPECT_FLOAT_EQ(s.channel(1)[255], 1.0f);
}

TEST(Normalize, ZeroPaddingNormalizesLikeAZeroPixel) {
  const std::vector<std::uint8_t> image(16, 200);  // 1 × 4 × 4
  const Normalization stats{{0.5}, {0.25}};
  std::vector<float> out(16);
  crop_flip_normalize({image.data(), 1, 4, 4}, 1, CropFill::zero, {0, 1, false},
                      NormalizeTable(stats), Layout::nchw, out.data());
  EXPECT_FLOAT_EQ(out[0], -2.0f);  // (0 − 0.5) / 0.25: the top row is padding
  EXPECT_FLOAT_EQ(out[4], static_cast<float>((200 / 255.0 - 0.5) / 0.25));
}

TEST(Normalization, ComputedFromTheSplitExactly) {
  Split s;
  s.count = 2;
  // 2 images, 2 channels, 1 × 2: channel 0 holds 0, 255, 0, 255; channel 1 is all 51.
  s.pixels = {0, 255, 51, 51, 0, 255, 51, 51};
  s.labels = {0, 1};
  const Normalization stats = compute_normalization(s, 2, 1, 2);
  EXPECT_DOUBLE_EQ(stats.mean[0], 0.5);
  EXPECT_DOUBLE_EQ(stats.std[0], 0.5);
  EXPECT_DOUBLE_EQ(stats.mean[1], 0.2);
  EXPECT_DOUBLE_EQ(stats.std[1], 0.0);
}

TEST(Normalization, GivenMeanOfTheWrongLengthNamesTheKey) {
  Dataset d = testing::pattern_dataset(2, 1);
  NormalizeConfig config{NormalizeMode::mean_std, {0.5, 0.5}, {0.2, 0.2}};
  try {
    resolve_normalization(config, d);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("normalize.mean"), std::string::npos) << e.what();
  }
}

TEST(Rotate, ByZeroIsTheIdentity) {
  const auto image = pattern_image(3, 9, 7);
  std::vector<std::uint8_t> out(image.size());
  rotate_bilinear({image.data(), 3, 9, 7}, 0.0, 0, out.data());
  EXPECT_EQ(out, image);
}

TEST(Rotate, ByNinetyDegreesTurnsCounterClockwise) {
  const std::vector<std::uint8_t> image = {1, 2, 3, 4, 5, 6, 7, 8, 9};  // 1 × 3 × 3
  std::vector<std::uint8_t> out(9);
  rotate_bilinear({image.data(), 1, 3, 3}, 90.0, 0, out.data());
  EXPECT_EQ(out, (std::vector<std::uint8_t>{3, 6, 9, 2, 5, 8, 1, 4, 7}));
}

TEST(Rotate, ByHalfATurnReversesRowsAndColumns) {
  const auto image = pattern_image(2, 6, 9);
  std::vector<std::uint8_t> out(image.size());
  rotate_bilinear({image.data(), 2, 6, 9}, 180.0, 0, out.data());
  for (int c = 0; c < 2; ++c)
    for (int y = 0; y < 6; ++y)
      for (int x = 0; x < 9; ++x)
        ASSERT_EQ(out[(c * 6 + y) * 9 + x], image[(c * 6 + 5 - y) * 9 + 8 - x]) << c << y << x;
}

TEST(Rotate, UncoveredCornersTakeTheFill) {
  const std::vector<std::uint8_t> image(8 * 8, 100);
  std::vector<std::uint8_t> out(64);
  rotate_bilinear({image.data(), 1, 8, 8}, 45.0, 7, out.data());
  EXPECT_EQ(out[0], 7);             // the top-left corner maps outside the source
  EXPECT_EQ(out[3 * 8 + 3], 100);  // the centre stays inside
}

TEST(Resize, ToTheSameSizeIsTheIdentity) {
  const auto image = pattern_image(3, 6, 5);
  std::vector<std::uint8_t> out(image.size());
  resize_bilinear({image.data(), 3, 6, 5}, 6, 5, out.data());
  EXPECT_EQ(out, image);
}

TEST(Resize, DoublingInterpolatesBetweenPixelCentres) {
  const std::vector<std::uint8_t> image = {0, 100};  // 1 × 1 × 2
  std::vector<std::uint8_t> out(4);
  resize_bilinear({image.data(), 1, 1, 2}, 1, 4, out.data());
  // Output centres sit at source x = −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
  EXPECT_EQ(out, (std::vector<std::uint8_t>{0, 25, 75, 100}));
}

TEST(Resize, HalvingAveragesEachTwoByTwoBlock) {
  const std::vector<std::uint8_t> image = {10, 20, 30, 40};  // 1 × 2 × 2
  std::vector<std::uint8_t> out(1);
  resize_bilinear({image.data(), 1, 2, 2}, 1, 1, out.data());
  EXPECT_EQ(out[0], 25);
}

TEST(Brightness, ScalesAndClamps) {
  std::vector<std::uint8_t> pixels = {0, 10, 100, 200};
  adjust_brightness(pixels.data(), pixels.size(), 1.5);
  EXPECT_EQ(pixels, (std::vector<std::uint8_t>{0, 15, 150, 255}));
}

TEST(Contrast, FactorZeroGivesTheGrayMeanAndOneTheImage) {
  std::vector<std::uint8_t> pixels = {10, 30, 50, 70};  // 1 channel: gray mean 40
  auto same = pixels;
  adjust_contrast(same.data(), 1, 2, 2, 1.0);
  EXPECT_EQ(same, pixels);
  adjust_contrast(pixels.data(), 1, 2, 2, 0.0);
  EXPECT_EQ(pixels, (std::vector<std::uint8_t>(4, 40)));
}

TEST(Cutout, ZeroesTheClippedSquareOnly) {
  std::vector<float> image(1 * 4 * 4, 1.0f);
  apply_cutout(image.data(), Layout::nchw, 1, 4, 4, 0, 0, 2, 0.0f);
  // A 2 × 2 square centred at (0, 0) covers rows −1..0 and columns −1..0: just pixel (0, 0).
  EXPECT_EQ(image[0], 0.0f);
  EXPECT_EQ(image[1], 1.0f);
  EXPECT_EQ(image[4], 1.0f);
  float sum = 0;
  for (float v : image) sum += v;
  EXPECT_EQ(sum, 15.0f);
}

TEST(SampleTransform, EvaluationLeavesTheImageUnchangedApartFromNormalization) {
  PipelineConfig config;  // crop 4 + random flip, which evaluation must not apply
  const auto image = pattern_image(3, 8, 8);
  const SampleTransform eval(config, 3, 8, 8, unit_stats(3), 1, /*augment=*/false);
  std::vector<float> out(eval.out_values());
  std::vector<std::uint8_t> scratch;
  for (std::int64_t i = 0; i < 20; ++i) {
    eval.apply(image.data(), i, 3, out.data(), scratch);
    for (std::size_t k = 0; k < image.size(); ++k) ASSERT_FLOAT_EQ(out[k], image[k] / 255.0f);
  }
}

TEST(SampleTransform, SameSampleAndEpochGetTheSamePlacement) {
  PipelineConfig config;
  const SampleTransform t(config, 3, 8, 8, unit_stats(3), 42, true);
  const CropPlacement a = t.placement(17, 5), b = t.placement(17, 5);
  EXPECT_EQ(a.offset_x, b.offset_x);
  EXPECT_EQ(a.offset_y, b.offset_y);
  EXPECT_EQ(a.flip, b.flip);
}

TEST(SampleTransform, RandomCropAndFlipCoverEveryOption) {
  PipelineConfig config;  // padding 4: offsets 0..8
  const SampleTransform t(config, 3, 8, 8, unit_stats(3), 42, true);
  std::vector<int> offsets(9, 0);
  int flips = 0;
  for (std::int64_t i = 0; i < 2000; ++i) {
    const CropPlacement p = t.placement(i, 0);
    ASSERT_GE(p.offset_x, 0);
    ASSERT_LE(p.offset_x, 8);
    ++offsets[p.offset_x];
    flips += p.flip;
  }
  for (int count : offsets) EXPECT_GT(count, 150);
  EXPECT_GT(flips, 900);
  EXPECT_LT(flips, 1100);
}

TEST(SampleTransform, AlternatingFlipInvertsEveryEpoch) {
  PipelineConfig config;
  config.augment.flip = FlipMode::alternating;
  const SampleTransform t(config, 3, 8, 8, unit_stats(3), 7, true);
  int flipped_in_epoch_0 = 0;
  for (std::int64_t i = 0; i < 200; ++i) {
    const bool e0 = t.placement(i, 0).flip;
    flipped_in_epoch_0 += e0;
    EXPECT_NE(t.placement(i, 1).flip, e0);
    EXPECT_EQ(t.placement(i, 2).flip, e0);
  }
  EXPECT_GT(flipped_in_epoch_0, 70);  // the per-sample bit is random, not constant
  EXPECT_LT(flipped_in_epoch_0, 130);
}

TEST(SampleTransform, ReflectPaddingAsLargeAsTheImageIsRefusedNamingTheKey) {
  PipelineConfig config;
  config.augment.crop_fill = CropFill::reflect;
  config.augment.crop_padding = 8;
  try {
    SampleTransform(config, 3, 8, 8, unit_stats(3), 1, true);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("augment.crop_padding"), std::string::npos) << e.what();
  }
}

TEST(SampleTransform, ResizeChangesTheOutputSize) {
  PipelineConfig config;
  config.resize_height = 16;
  config.resize_width = 12;
  const SampleTransform t(config, 3, 8, 8, unit_stats(3), 1, true);
  EXPECT_EQ(t.out_height(), 16);
  EXPECT_EQ(t.out_width(), 12);
  const auto image = pattern_image(3, 8, 8);
  std::vector<std::uint8_t> out(t.out_values());
  std::vector<std::uint8_t> scratch;
  t.apply(image.data(), 0, 0, out.data(), scratch);
  EXPECT_EQ(out.size(), 3u * 16 * 12);
}

TEST(SampleTransform, EveryAugmentationTogetherLeavesTheSourceUntouched) {
  PipelineConfig config;
  config.augment.rotation_degrees = 15;
  config.augment.brightness = 0.4;
  config.augment.contrast = 0.4;
  config.augment.cutout = 4;
  const SampleTransform t(config, 3, 8, 8, unit_stats(3), 1, true);
  const auto image = pattern_image(3, 8, 8);
  const auto copy = image;
  std::vector<float> out(t.out_values());
  std::vector<std::uint8_t> scratch;
  t.apply(image.data(), 3, 1, out.data(), scratch);
  EXPECT_EQ(image, copy);
  int zeros = 0;
  for (float v : out) zeros += v == 0.0f;
  EXPECT_GE(zeros, 3);  // the cutout square holds at least one pixel in every channel
}

}  // namespace
}  // namespace cb::data
