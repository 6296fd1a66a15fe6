#include "data/synthetic.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"
#include "core/rng.h"

namespace cb::data {
namespace {

struct ClassPattern {
  double cos_angle, sin_angle, frequency;
  double colour[3];  // per-channel weight of the stripes
  double base[3];    // per-channel mean level
};

ClassPattern pattern_for(std::uint64_t seed, int label, int classes) {
  Rng rng(seed, {0x5157u, static_cast<std::uint64_t>(label)});
  ClassPattern p{};
  const double angle = std::numbers::pi * label / classes;  // distinct orientation per class
  p.cos_angle = std::cos(angle);
  p.sin_angle = std::sin(angle);
  p.frequency = 0.25 + 0.35 * ((label * 7) % classes) / std::max(1, classes - 1);
  for (int c = 0; c < 3; ++c) {
    p.colour[c] = rng.uniform(-1.0, 1.0);
    p.base[c] = rng.uniform(70.0, 185.0);
  }
  return p;
}

// sin(a + phase) = sin(a) cos(phase) + cos(a) sin(phase): per-class tables of sin(a) and cos(a)
// make each image a multiply-add per pixel instead of a sine.
struct ClassTables {
  std::vector<double> sin_a, cos_a;
};

ClassTables tables_for(const ClassPattern& p, int height, int width) {
  ClassTables t;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double a = p.frequency * (x * p.cos_angle + y * p.sin_angle);
      t.sin_a.push_back(std::sin(a));
      t.cos_a.push_back(std::cos(a));
    }
  }
  return t;
}

void fill_split(const SyntheticOptions& o, std::uint64_t split_key, std::int64_t count,
                const std::vector<ClassPattern>& patterns, const std::vector<ClassTables>& tables,
                Split& split) {
  const std::size_t plane = static_cast<std::size_t>(o.height) * o.width;
  split.count = count;
  split.pixels.resize(static_cast<std::size_t>(count) * 3 * plane);
  split.labels.resize(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    Rng rng(o.seed, {split_key, static_cast<std::uint64_t>(i)});
    const int label = static_cast<int>(i % o.classes);  // balanced classes, interleaved
    split.labels[static_cast<std::size_t>(i)] = label;
    const ClassPattern& p = patterns[static_cast<std::size_t>(label)];
    const ClassTables& t = tables[static_cast<std::size_t>(label)];
    const double phase = rng.uniform(0.0, 2 * std::numbers::pi);
    const double contrast = rng.uniform(35.0, 70.0);
    const double cos_phase = std::cos(phase), sin_phase = std::sin(phase);
    std::uint8_t* out = split.pixels.data() + static_cast<std::size_t>(i) * 3 * plane;
    for (std::size_t k = 0; k < plane; ++k) {
      const double wave = t.sin_a[k] * cos_phase + t.cos_a[k] * sin_phase;
      const std::uint64_t bits = rng.next_u64();  // 16 bits of uniform noise per channel
      for (int c = 0; c < 3; ++c) {
        const double noise = static_cast<double>((bits >> (16 * c)) & 0xffff) / 65536.0 - 0.5;
        const double v = p.base[c] + contrast * p.colour[c] * wave + 24.0 * noise;
        out[c * plane + k] = static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
    }
  }
}

}  // namespace

Dataset make_synthetic(const SyntheticOptions& o) {
  if (o.classes < 2 || o.classes > 1000) {
    throw InputError(fmt::format("synthetic data: classes must be 2 to 1000, got {}", o.classes));
  }
  if (o.train_count < 1 || o.test_count < 1) {
    throw InputError("synthetic data: train and test counts must be at least 1");
  }
  if (o.height < 1 || o.width < 1 || o.height > 1024 || o.width > 1024) {
    throw InputError(
        fmt::format("synthetic data: image size {}×{} out of range 1 to 1024", o.width, o.height));
  }
  Dataset ds;
  ds.name = "synthetic";
  ds.source = fmt::format("synthetic(seed={})", o.seed);
  ds.synthetic = true;
  ds.height = o.height;
  ds.width = o.width;
  std::vector<ClassPattern> patterns;
  std::vector<ClassTables> tables;
  for (int k = 0; k < o.classes; ++k) {
    ds.classes.push_back(fmt::format("class{}", k));
    patterns.push_back(pattern_for(o.seed, k, o.classes));
    tables.push_back(tables_for(patterns.back(), o.height, o.width));
  }
  fill_split(o, 1, o.train_count, patterns, tables, ds.train);
  fill_split(o, 2, o.test_count, patterns, tables, ds.test);
  return ds;
}

}  // namespace cb::data
