// The per-image transforms of the input pipeline, each a plain function of its parameters, and
// SampleTransform, which draws those parameters for sample i of epoch e from
// Rng(seed, {e, i, step}) and applies them in a fixed order:
//   resize → rotation → brightness → contrast → crop + flip + normalize (one pass) → cutout.
// Geometry and colour run on uint8 in integer (fixed-point) arithmetic, so a given seed gives
// the very same bytes on every machine, compiler and thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/batch.h"
#include "data/dataset.h"
#include "data/pipeline_config.h"

namespace cb::data {

// A uint8 image, planar (channel, row, column), as dataset.h stores it.
struct ImageView {
  const std::uint8_t* pixels = nullptr;
  int channels = 0, height = 0, width = 0;
};

// What normalization subtracts and divides by, per channel, in [0, 1] pixel units (pixel / 255).
// (data/channel_stats.h reports the same statistics on the 0-255 scale for `data info`.)
struct Normalization {
  std::vector<double> mean;
  std::vector<double> std;  // population standard deviation
};

// Per-channel mean and population std of every pixel of a split, in [0, 1] units, counted
// exactly in integers so the result does not depend on the order of summation.
Normalization compute_normalization(const Split& split, int channels, int height, int width);

// The normalization a NormalizeConfig asks for: given, computed from the training split, or the
// fixed ones of unit ([0, 1]) and symmetric ([-1, 1]) scaling. Throws InputError naming
// normalize.mean when the given values do not match the dataset's channel count.
Normalization resolve_normalization(const NormalizeConfig& config, const Dataset& dataset);

// value = (pixel / 255 - mean[c]) / std[c] for every pixel value, rounded once from double, so
// the hot loop is one table read per pixel and no compiler contraction can change a bit.
class NormalizeTable {
 public:
  explicit NormalizeTable(const Normalization& stats);
  const float* channel(int c) const { return table_.data() + static_cast<std::size_t>(c) * 256; }
  int channels() const { return static_cast<int>(table_.size() / 256); }
  // The uint8 pixel whose normalized value is closest to 0 (cutout's fill in uint8 batches).
  std::uint8_t zero_pixel(int c) const;

 private:
  std::vector<float> table_;  // channels × 256
};

// Where the crop window sits in the padded image, and whether the result is mirrored.
struct CropPlacement {
  int offset_y = 0;  // in [0, 2 × padding]; offset = padding is the unshifted image
  int offset_x = 0;
  bool flip = false;
};

// Pads `src` by `padding` on every side (zeros, or a mirror image without repeating the edge),
// takes the window at `placement`, mirrors it left-right if asked, and writes one image of the
// source's size at `dst` in `layout`: normalized floats, or raw uint8 pixels.
void crop_flip_normalize(const ImageView& src, int padding, CropFill fill, CropPlacement placement,
                         const NormalizeTable& table, Layout layout, float* dst);
void crop_flip(const ImageView& src, int padding, CropFill fill, CropPlacement placement,
               Layout layout, std::uint8_t* dst);

// Bilinear resize (pixel centres aligned, as PyTorch's align_corners=false) to out_h × out_w.
void resize_bilinear(const ImageView& src, int out_height, int out_width, std::uint8_t* dst);

// Rotation by `degrees` (counter-clockwise as seen) about the image centre, bilinear, with
// `fill` where the source lies outside the image. The angle's sine and cosine are rounded to
// 1/65536 first so that the result does not depend on the math library's last bit.
void rotate_bilinear(const ImageView& src, double degrees, std::uint8_t fill, std::uint8_t* dst);

// pixel × factor, rounded and clamped to [0, 255], in place (factor rounded to 1/65536).
void adjust_brightness(std::uint8_t* pixels, std::size_t count, double factor);
// Blends every pixel with the image's mean gray level (0.299 R + 0.587 G + 0.114 B for three
// channels, the plain mean otherwise): gray + factor × (pixel − gray), rounded and clamped.
void adjust_contrast(std::uint8_t* pixels, int channels, int height, int width, double factor);

// Sets the size × size square centred at (center_y, center_x), clipped to the image, to `value`
// in every channel of one image stored in `layout`.
void apply_cutout(float* image, Layout layout, int channels, int height, int width, int center_y,
                  int center_x, int size, float value);
void apply_cutout(std::uint8_t* image, Layout layout, int channels, int height, int width,
                  int center_y, int center_x, const std::vector<std::uint8_t>& value_per_channel,
                  int size);

// Everything that happens to one sample between the dataset and its place in a batch.
class SampleTransform {
 public:
  // `augment` false (evaluation): only resize and normalization. `seed` is the trial's seed.
  // Throws InputError naming the key when a setting does not fit the images (e.g. reflect
  // padding as large as the image).
  SampleTransform(const PipelineConfig& config, int channels, int height, int width,
                  const Normalization& normalization, std::uint64_t seed, bool augment);

  int channels() const { return channels_; }
  int out_height() const { return out_h_; }
  int out_width() const { return out_w_; }
  std::size_t out_values() const {
    return static_cast<std::size_t>(channels_) * out_h_ * out_w_;
  }

  // The parameters this sample gets in this epoch (exposed for tests and tracing).
  CropPlacement placement(std::int64_t index, std::int64_t epoch) const;

  // Transforms the image of sample `index` in `epoch` into `dst` (out_values() elements of the
  // batch's precision). `scratch` is reused between calls; one per thread.
  void apply(const std::uint8_t* image, std::int64_t index, std::int64_t epoch, float* dst,
             std::vector<std::uint8_t>& scratch) const;
  void apply(const std::uint8_t* image, std::int64_t index, std::int64_t epoch, std::uint8_t* dst,
             std::vector<std::uint8_t>& scratch) const;

 private:
  // Runs the uint8 stages before the crop; returns the image the crop reads.
  ImageView prepare(const std::uint8_t* image, std::int64_t index, std::int64_t epoch,
                    std::vector<std::uint8_t>& scratch) const;
  bool cutout_center(std::int64_t index, std::int64_t epoch, int& y, int& x) const;

  AugmentConfig augment_;
  Layout layout_;
  int channels_, in_h_, in_w_, out_h_, out_w_;
  std::uint64_t seed_;
  NormalizeTable table_;
  std::vector<std::uint8_t> cutout_fill_u8_;
};

}  // namespace cb::data
