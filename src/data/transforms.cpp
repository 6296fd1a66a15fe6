#include "data/transforms.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numbers>

#include "core/error.h"
#include "core/rng.h"

namespace cb::data {
namespace {

// Stream keys: each random step draws from its own stream, so turning one step on or off does
// not move the draws of the others.
enum Stream : std::uint64_t {
  kRotation = 1,
  kBrightness = 2,
  kContrast = 3,
  kCrop = 4,
  kFlip = 5,
  kCutout = 6,
  kAlternatingFlip = 7
};

constexpr std::int64_t kOne = 1 << 16;  // fixed point: 16 fractional bits

std::uint8_t clamp_pixel(std::int64_t v) {
  return static_cast<std::uint8_t>(std::clamp<std::int64_t>(v, 0, 255));
}

std::int64_t to_fixed(double v) { return std::llround(v * static_cast<double>(kOne)); }

// Mirror index without repeating the edge (numpy/PyTorch "reflect"); |overhang| < n.
int reflect_index(int i, int n) {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

// One output row: the window's columns that fall on the image are a straight (or, flipped,
// reversed) run over the source row; only the ≤ padding columns at each end are padding.
template <int kStride, typename Out, typename Convert>
void crop_row(const std::uint8_t* s, int w, int padding, CropFill fill, int offset_x, bool flip,
              int c, Out* out, std::ptrdiff_t stride, Convert convert) {
  if constexpr (kStride > 0) stride = kStride;
  const int shift = offset_x - padding;  // window column j shows source column j + shift
  const int left = std::clamp(-shift, 0, w);
  const int right = std::clamp(w - shift, 0, w);
  auto padded = [&](int j) {
    return fill == CropFill::zero ? convert(c, 0) : convert(c, s[reflect_index(j + shift, w)]);
  };
  if (!flip) {
    for (int j = 0; j < left; ++j) out[j * stride] = padded(j);
    for (int j = left; j < right; ++j) out[j * stride] = convert(c, s[j + shift]);
    for (int j = right; j < w; ++j) out[j * stride] = padded(j);
  } else {
    Out* last = out + (w - 1) * stride;
    for (int j = 0; j < left; ++j) last[-j * stride] = padded(j);
    for (int j = left; j < right; ++j) last[-j * stride] = convert(c, s[j + shift]);
    for (int j = right; j < w; ++j) last[-j * stride] = padded(j);
  }
}

template <typename Out, typename Convert>
void crop_rows(const ImageView& src, int padding, CropFill fill, CropPlacement placement,
               Layout layout, Out* dst, Convert convert) {
  const int h = src.height, w = src.width, channels = src.channels;
  const std::size_t plane = static_cast<std::size_t>(h) * w;
  for (int c = 0; c < channels; ++c) {
    const std::uint8_t* src_plane = src.pixels + c * plane;
    for (int y = 0; y < h; ++y) {
      const int sy = y + placement.offset_y - padding;
      const bool nchw = layout == Layout::nchw;
      Out* out = nchw ? dst + c * plane + static_cast<std::size_t>(y) * w
                      : dst + static_cast<std::size_t>(y) * w * channels + c;
      const std::ptrdiff_t stride = nchw ? 1 : channels;
      if ((sy < 0 || sy >= h) && fill == CropFill::zero) {
        const Out zero = convert(c, 0);
        for (int x = 0; x < w; ++x) out[x * stride] = zero;
        continue;
      }
      const std::uint8_t* s = src_plane + static_cast<std::size_t>(reflect_index(sy, h)) * w;
      if (nchw) {
        crop_row<1>(s, w, padding, fill, placement.offset_x, placement.flip, c, out, 1, convert);
      } else {
        crop_row<0>(s, w, padding, fill, placement.offset_x, placement.flip, c, out, stride,
                    convert);
      }
    }
  }
}

// Bilinear sample at (sy, sx) given in units of 1/2^bits; `fill` where a neighbour is outside.
std::uint8_t bilinear_at(const std::uint8_t* plane, int h, int w, std::int64_t sy, std::int64_t sx,
                         int bits, std::uint8_t fill) {
  const std::int64_t one = std::int64_t{1} << bits;
  const std::int64_t y0 = sy >> bits, x0 = sx >> bits;  // floor (arithmetic shift in C++20)
  const std::int64_t fy = sy & (one - 1), fx = sx & (one - 1);
  auto at = [&](std::int64_t y, std::int64_t x) -> std::int64_t {
    if (y < 0 || y >= h || x < 0 || x >= w) return fill;
    return plane[y * w + x];
  };
  const std::int64_t top = at(y0, x0) * (one - fx) + at(y0, x0 + 1) * fx;
  const std::int64_t bottom = at(y0 + 1, x0) * (one - fx) + at(y0 + 1, x0 + 1) * fx;
  const std::int64_t v = top * (one - fy) + bottom * fy;
  return clamp_pixel((v + (std::int64_t{1} << (2 * bits - 1))) >> (2 * bits));
}
}  // namespace

Normalization compute_normalization(const Split& split, int channels, int height, int width) {
  const std::size_t plane = static_cast<std::size_t>(height) * width;
  const std::size_t image = plane * channels;
  std::vector<std::array<std::uint64_t, 256>> histogram(channels);
  for (auto& h : histogram) h.fill(0);
  for (std::int64_t i = 0; i < split.count; ++i) {
    const std::uint8_t* p = split.pixels.data() + static_cast<std::size_t>(i) * image;
    for (int c = 0; c < channels; ++c) {
      auto& hist = histogram[c];
      const std::uint8_t* q = p + c * plane;
      for (std::size_t k = 0; k < plane; ++k) ++hist[q[k]];
    }
  }
  Normalization stats;
  for (int c = 0; c < channels; ++c) {
    std::uint64_t n = 0, sum = 0, sum_sq = 0;  // exact: 255² × 2^40 pixels still fits
    for (std::uint64_t v = 0; v < 256; ++v) {
      n += histogram[c][v];
      sum += histogram[c][v] * v;
      sum_sq += histogram[c][v] * v * v;
    }
    if (n == 0) {
      stats.mean.push_back(0.0);
      stats.std.push_back(1.0);
      continue;
    }
    const double mean = static_cast<double>(sum) / static_cast<double>(n);
    // n·Σv² − (Σv)² in integers (128-bit), so the variance is exact before the one division.
    __extension__ typedef unsigned __int128 u128;
    const u128 spread = static_cast<u128>(n) * sum_sq - static_cast<u128>(sum) * sum;
    const double variance =
        static_cast<double>(spread) / (static_cast<double>(n) * static_cast<double>(n));
    stats.mean.push_back(mean / 255.0);
    stats.std.push_back(std::sqrt(variance) / 255.0);
  }
  return stats;
}

Normalization resolve_normalization(const NormalizeConfig& config, const Dataset& dataset) {
  const auto channels = static_cast<std::size_t>(dataset.channels);
  switch (config.mode) {
    case NormalizeMode::unit: return {std::vector<double>(channels, 0.0),
                                      std::vector<double>(channels, 1.0)};
    case NormalizeMode::symmetric: return {std::vector<double>(channels, 0.5),
                                           std::vector<double>(channels, 0.5)};
    case NormalizeMode::mean_std: break;
  }
  if (config.mean.empty()) {
    Normalization stats =
        compute_normalization(dataset.train, dataset.channels, dataset.height, dataset.width);
    // A channel that never varies (a synthetic constant) would divide by zero.
    for (double& s : stats.std) s = std::max(s, 1.0 / 255.0);
    return stats;
  }
  if (config.mean.size() != channels) {
    throw InputError(fmt::format("key 'normalize.mean': expected {} values (one per channel of {}), "
                                 "got {}",
                                 channels, dataset.name, config.mean.size()));
  }
  return {config.mean, config.std};
}

NormalizeTable::NormalizeTable(const Normalization& stats) {
  const std::size_t channels = stats.mean.size();
  table_.resize(channels * 256);
  for (std::size_t c = 0; c < channels; ++c) {
    for (int v = 0; v < 256; ++v) {
      table_[c * 256 + v] = static_cast<float>((v / 255.0 - stats.mean[c]) / stats.std[c]);
    }
  }
}

std::uint8_t NormalizeTable::zero_pixel(int c) const {
  const float* t = channel(c);
  int best = 0;
  for (int v = 1; v < 256; ++v) {
    if (std::fabs(t[v]) < std::fabs(t[best])) best = v;
  }
  return static_cast<std::uint8_t>(best);
}

void crop_flip_normalize(const ImageView& src, int padding, CropFill fill, CropPlacement placement,
                         const NormalizeTable& table, Layout layout, float* dst) {
  std::array<const float*, 16> channel_tables{};
  const int n = std::min(table.channels(), static_cast<int>(channel_tables.size()));
  for (int c = 0; c < n; ++c) channel_tables[c] = table.channel(c);
  if (src.channels <= static_cast<int>(channel_tables.size())) {
    crop_rows(src, padding, fill, placement, layout, dst,
              [&](int c, std::uint8_t v) { return channel_tables[c][v]; });
  } else {
    crop_rows(src, padding, fill, placement, layout, dst,
              [&](int c, std::uint8_t v) { return table.channel(c)[v]; });
  }
}

void crop_flip(const ImageView& src, int padding, CropFill fill, CropPlacement placement,
               Layout layout, std::uint8_t* dst) {
  crop_rows(src, padding, fill, placement, layout, dst, [](int, std::uint8_t v) { return v; });
}

void resize_bilinear(const ImageView& src, int out_height, int out_width, std::uint8_t* dst) {
  // Source coordinate of output pixel x: (x + ½)·in/out − ½, clamped to the image, in 1/65536;
  // the neighbour pair and its weight are computed once per column and once per row.
  struct Tap {
    int lo, hi;
    std::int64_t weight;  // of `hi`, in 1/65536
  };
  auto taps = [](int in, int out) {
    std::vector<Tap> t(static_cast<std::size_t>(out));
    for (int x = 0; x < out; ++x) {
      std::int64_t s = ((2 * std::int64_t{x} + 1) * in * kOne) / (2 * std::int64_t{out}) - kOne / 2;
      s = std::clamp<std::int64_t>(s, 0, (in - 1) * kOne);
      const auto lo = static_cast<int>(s >> 16);
      t[x] = {lo, std::min(lo + 1, in - 1), s & (kOne - 1)};
    }
    return t;
  };
  const auto ys = taps(src.height, out_height);
  const auto xs = taps(src.width, out_width);
  const std::size_t in_plane = static_cast<std::size_t>(src.height) * src.width;
  const std::size_t out_plane = static_cast<std::size_t>(out_height) * out_width;
  for (int c = 0; c < src.channels; ++c) {
    const std::uint8_t* plane = src.pixels + c * in_plane;
    std::uint8_t* out = dst + c * out_plane;
    for (int y = 0; y < out_height; ++y) {
      const std::uint8_t* top = plane + static_cast<std::size_t>(ys[y].lo) * src.width;
      const std::uint8_t* bottom = plane + static_cast<std::size_t>(ys[y].hi) * src.width;
      const std::int64_t wy = ys[y].weight;
      for (int x = 0; x < out_width; ++x) {
        const Tap& t = xs[x];
        const std::int64_t upper = top[t.lo] * (kOne - t.weight) + top[t.hi] * t.weight;
        const std::int64_t lower = bottom[t.lo] * (kOne - t.weight) + bottom[t.hi] * t.weight;
        const std::int64_t v = upper * (kOne - wy) + lower * wy;
        out[static_cast<std::size_t>(y) * out_width + x] =
            static_cast<std::uint8_t>((v + (std::int64_t{1} << 31)) >> 32);
      }
    }
  }
}

void rotate_bilinear(const ImageView& src, double degrees, std::uint8_t fill, std::uint8_t* dst) {
  const double radians = degrees * std::numbers::pi / 180.0;
  const std::int64_t cos_f = to_fixed(std::cos(radians)), sin_f = to_fixed(std::sin(radians));
  const int h = src.height, w = src.width;
  // Doubled coordinates keep the centre ((w−1)/2, (h−1)/2) an integer; 17 fractional bits.
  const std::int64_t cx2 = w - 1, cy2 = h - 1;
  const std::size_t plane = static_cast<std::size_t>(h) * w;
  for (int c = 0; c < src.channels; ++c) {
    const std::uint8_t* in = src.pixels + c * plane;
    std::uint8_t* out = dst + c * plane;
    for (int y = 0; y < h; ++y) {
      const std::int64_t dy2 = 2 * std::int64_t{y} - cy2;
      for (int x = 0; x < w; ++x) {
        const std::int64_t dx2 = 2 * std::int64_t{x} - cx2;
        // Inverse map of a counter-clockwise turn in image (y-down) coordinates.
        const std::int64_t sx = cx2 * kOne + dx2 * cos_f - dy2 * sin_f;
        const std::int64_t sy = cy2 * kOne + dx2 * sin_f + dy2 * cos_f;
        const std::int64_t x0 = sx >> 17, y0 = sy >> 17;
        if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h) {  // all four neighbours inside
          const std::int64_t one = std::int64_t{1} << 17, fx = sx & (one - 1), fy = sy & (one - 1);
          const std::uint8_t* p = in + y0 * w + x0;
          const std::int64_t top = p[0] * (one - fx) + p[1] * fx;
          const std::int64_t bottom = p[w] * (one - fx) + p[w + 1] * fx;
          const std::int64_t v = top * (one - fy) + bottom * fy;
          out[static_cast<std::size_t>(y) * w + x] =
              static_cast<std::uint8_t>((v + (std::int64_t{1} << 33)) >> 34);
        } else {
          out[static_cast<std::size_t>(y) * w + x] = bilinear_at(in, h, w, sy, sx, 17, fill);
        }
      }
    }
  }
}

void adjust_brightness(std::uint8_t* pixels, std::size_t count, double factor) {
  const std::int64_t f = to_fixed(factor);
  std::array<std::uint8_t, 256> map{};
  for (std::int64_t v = 0; v < 256; ++v) map[v] = clamp_pixel((v * f + kOne / 2) >> 16);
  for (std::size_t i = 0; i < count; ++i) pixels[i] = map[pixels[i]];
}

void adjust_contrast(std::uint8_t* pixels, int channels, int height, int width, double factor) {
  const std::size_t plane = static_cast<std::size_t>(height) * width;
  std::int64_t weighted = 0, weight_total = 0;
  for (int c = 0; c < channels; ++c) {
    const std::int64_t weight = channels == 3 ? std::array<int, 3>{299, 587, 114}[c] : 1;
    std::int64_t sum = 0;
    for (std::size_t k = 0; k < plane; ++k) sum += pixels[c * plane + k];
    weighted += weight * sum;
    weight_total += weight;
  }
  // Gray mean in 1/65536 units.
  const auto denominator = weight_total * static_cast<std::int64_t>(plane);
  const std::int64_t gray = denominator == 0 ? 0 : (weighted * kOne) / denominator;
  const std::int64_t f = to_fixed(factor);
  std::array<std::uint8_t, 256> map{};
  for (std::int64_t v = 0; v < 256; ++v) {
    const std::int64_t blended = gray + ((f * (v * kOne - gray)) >> 16);
    map[v] = clamp_pixel((blended + kOne / 2) >> 16);
  }
  for (std::size_t i = 0; i < plane * channels; ++i) pixels[i] = map[pixels[i]];
}

namespace {
struct Square {
  int y0, y1, x0, x1;  // [y0, y1) × [x0, x1)
};
Square clip_square(int height, int width, int center_y, int center_x, int size) {
  const int y0 = center_y - size / 2, x0 = center_x - size / 2;
  return {std::max(0, y0), std::min(height, y0 + size), std::max(0, x0), std::min(width, x0 + size)};
}

template <typename T, typename Value>
void fill_square(T* image, Layout layout, int channels, int height, int width, Square s,
                 Value value) {
  for (int c = 0; c < channels; ++c) {
    for (int y = s.y0; y < s.y1; ++y) {
      for (int x = s.x0; x < s.x1; ++x) {
        const std::size_t i = layout == Layout::nchw
                                  ? (static_cast<std::size_t>(c) * height + y) * width + x
                                  : (static_cast<std::size_t>(y) * width + x) * channels + c;
        image[i] = value(c);
      }
    }
  }
}
}  // namespace

void apply_cutout(float* image, Layout layout, int channels, int height, int width, int center_y,
                  int center_x, int size, float value) {
  fill_square(image, layout, channels, height, width,
              clip_square(height, width, center_y, center_x, size), [value](int) { return value; });
}

void apply_cutout(std::uint8_t* image, Layout layout, int channels, int height, int width,
                  int center_y, int center_x, const std::vector<std::uint8_t>& value_per_channel,
                  int size) {
  fill_square(image, layout, channels, height, width,
              clip_square(height, width, center_y, center_x, size),
              [&](int c) { return value_per_channel[c]; });
}

SampleTransform::SampleTransform(const PipelineConfig& config, int channels, int height,
                                 int width, const Normalization& normalization, std::uint64_t seed,
                                 bool augment)
    : augment_(config.augment),
      layout_(config.layout),
      channels_(channels),
      in_h_(height),
      in_w_(width),
      out_h_(config.resize_height > 0 ? config.resize_height : height),
      out_w_(config.resize_width > 0 ? config.resize_width : width),
      seed_(seed),
      table_(normalization) {
  if (static_cast<int>(normalization.mean.size()) != channels ||
      static_cast<int>(normalization.std.size()) != channels) {
    throw InputError(fmt::format("key 'normalize.mean': expected {} values (one per channel), "
                                 "got {}",
                                 channels, normalization.mean.size()));
  }
  if (!augment) augment_ = AugmentConfig{0, CropFill::zero, FlipMode::none, 0, 0, 0, 0, 0};
  const int side = std::min(out_h_, out_w_);
  if (augment_.crop_fill == CropFill::reflect && augment_.crop_padding >= side) {
    throw InputError(fmt::format("key 'augment.crop_padding': expected less than the image side "
                                 "({}) with crop_fill = \"reflect\", got {}",
                                 side, augment_.crop_padding));
  }
  if (augment_.cutout > std::max(out_h_, out_w_)) {
    throw InputError(fmt::format("key 'augment.cutout': expected at most the image side ({}), "
                                 "got {}",
                                 std::max(out_h_, out_w_), augment_.cutout));
  }
  for (int c = 0; c < channels; ++c) cutout_fill_u8_.push_back(table_.zero_pixel(c));
}

CropPlacement SampleTransform::placement(std::int64_t index, std::int64_t epoch) const {
  CropPlacement p{augment_.crop_padding, augment_.crop_padding, false};
  const auto e = static_cast<std::uint64_t>(epoch), i = static_cast<std::uint64_t>(index);
  if (augment_.crop_padding > 0) {
    Rng rng(seed_, {e, i, kCrop});
    const std::uint64_t span = 2 * static_cast<std::uint64_t>(augment_.crop_padding) + 1;
    p.offset_y = static_cast<int>(rng.below(span));
    p.offset_x = static_cast<int>(rng.below(span));
  }
  if (augment_.flip == FlipMode::random) {
    p.flip = Rng(seed_, {e, i, kFlip}).coin();
  } else if (augment_.flip == FlipMode::alternating) {
    // airbench: a per-sample bit fixed for the whole run, inverted every other epoch.
    p.flip = Rng(seed_, {i, kAlternatingFlip}).coin() != ((epoch & 1) != 0);
  }
  return p;
}

ImageView SampleTransform::prepare(const std::uint8_t* image, std::int64_t index,
                                   std::int64_t epoch, std::vector<std::uint8_t>& scratch) const {
  ImageView view{image, channels_, in_h_, in_w_};
  const bool resizing = out_h_ != in_h_ || out_w_ != in_w_;
  const bool rotating = augment_.rotation_degrees > 0;
  const bool colouring = augment_.brightness > 0 || augment_.contrast > 0;
  if (!resizing && !rotating && !colouring) return view;
  const std::size_t values = out_values();
  scratch.resize(2 * values);
  std::uint8_t* buffers[2] = {scratch.data(), scratch.data() + values};
  int next = 0;
  const auto e = static_cast<std::uint64_t>(epoch), i = static_cast<std::uint64_t>(index);
  if (resizing) {
    resize_bilinear(view, out_h_, out_w_, buffers[next]);
    view = {buffers[next], channels_, out_h_, out_w_};
    next ^= 1;
  }
  if (rotating) {
    const double n = augment_.rotation_degrees;
    const double degrees = Rng(seed_, {e, i, kRotation}).uniform(-n, n);
    rotate_bilinear(view, degrees, static_cast<std::uint8_t>(augment_.rotation_fill),
                    buffers[next]);
    view = {buffers[next], channels_, out_h_, out_w_};
    next ^= 1;
  }
  if (colouring) {
    if (view.pixels != buffers[0] && view.pixels != buffers[1]) {
      std::memcpy(buffers[next], view.pixels, values);  // never write into the dataset
      view = {buffers[next], channels_, out_h_, out_w_};
    }
    auto* pixels = const_cast<std::uint8_t*>(view.pixels);  // our own scratch buffer
    if (augment_.brightness > 0) {
      const double b = augment_.brightness;
      adjust_brightness(pixels, values, Rng(seed_, {e, i, kBrightness}).uniform(1 - b, 1 + b));
    }
    if (augment_.contrast > 0) {
      const double k = augment_.contrast;
      adjust_contrast(pixels, channels_, out_h_, out_w_,
                      Rng(seed_, {e, i, kContrast}).uniform(1 - k, 1 + k));
    }
  }
  return view;
}

bool SampleTransform::cutout_center(std::int64_t index, std::int64_t epoch, int& y, int& x) const {
  if (augment_.cutout <= 0) return false;
  Rng rng(seed_, {static_cast<std::uint64_t>(epoch), static_cast<std::uint64_t>(index), kCutout});
  y = static_cast<int>(rng.below(static_cast<std::uint64_t>(out_h_)));
  x = static_cast<int>(rng.below(static_cast<std::uint64_t>(out_w_)));
  return true;
}

void SampleTransform::apply(const std::uint8_t* image, std::int64_t index, std::int64_t epoch,
                            float* dst, std::vector<std::uint8_t>& scratch) const {
  const ImageView view = prepare(image, index, epoch, scratch);
  crop_flip_normalize(view, augment_.crop_padding, augment_.crop_fill, placement(index, epoch),
                      table_, layout_, dst);
  int y = 0, x = 0;
  if (cutout_center(index, epoch, y, x)) {
    apply_cutout(dst, layout_, channels_, out_h_, out_w_, y, x, augment_.cutout, 0.0f);
  }
}

void SampleTransform::apply(const std::uint8_t* image, std::int64_t index, std::int64_t epoch,
                            std::uint8_t* dst, std::vector<std::uint8_t>& scratch) const {
  const ImageView view = prepare(image, index, epoch, scratch);
  crop_flip(view, augment_.crop_padding, augment_.crop_fill, placement(index, epoch), layout_, dst);
  int y = 0, x = 0;
  if (cutout_center(index, epoch, y, x)) {
    apply_cutout(dst, layout_, channels_, out_h_, out_w_, y, x, cutout_fill_u8_, augment_.cutout);
  }
}

}  // namespace cb::data
