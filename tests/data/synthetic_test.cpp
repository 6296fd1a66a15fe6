// Synthetic data: labelled as such, reproducible from its seed, and learnable from its classes.
#include <gtest/gtest.h>

#include <cmath>

#include "data/synthetic.h"

namespace cb {
namespace {

data::SyntheticOptions small(std::uint64_t seed) {
  data::SyntheticOptions o;
  o.seed = seed;
  o.train_count = 500;
  o.test_count = 200;
  return o;
}

TEST(Synthetic, IsLabelledSynthetic) {
  const auto ds = data::make_synthetic(small(1));
  EXPECT_TRUE(ds.synthetic);
  EXPECT_EQ(ds.name, "synthetic");
  EXPECT_EQ(ds.source, "synthetic(seed=1)");
  EXPECT_EQ(ds.num_classes(), 10);
  EXPECT_EQ(ds.train.count, 500);
  EXPECT_EQ(ds.train.pixels.size(), 500u * 3 * 32 * 32);
}

TEST(Synthetic, SameSeedSameBytesOtherSeedOtherBytes) {
  EXPECT_EQ(data::make_synthetic(small(7)).train.pixels,
            data::make_synthetic(small(7)).train.pixels);
  EXPECT_NE(data::make_synthetic(small(7)).train.pixels,
            data::make_synthetic(small(8)).train.pixels);
}

TEST(Synthetic, ClassesAreBalanced) {
  const auto ds = data::make_synthetic(small(3));
  std::vector<int> counts(10, 0);
  for (auto l : ds.train.labels) ++counts[static_cast<std::size_t>(l)];
  for (int c : counts) EXPECT_EQ(c, 50);
}

// Phase-invariant features of an image: per channel, its mean and its gradient energy along four
// directions (the stripes' colour, angle and frequency differ between classes, their phase not).
std::vector<double> signature(const data::Dataset& ds, const data::Split& split, std::int64_t i) {
  const std::uint8_t* px = split.image(i, ds.image_bytes());
  std::vector<double> sig;
  for (int c = 0; c < 3; ++c) {
    const std::uint8_t* p = px + c * 1024;
    double mean = 0, gx = 0, gy = 0, gd = 0, ga = 0;
    for (int y = 0; y < 31; ++y) {
      for (int x = 1; x < 31; ++x) {
        const double v = p[y * 32 + x];
        mean += v;
        gx += std::abs(v - p[y * 32 + x + 1]);
        gy += std::abs(v - p[(y + 1) * 32 + x]);
        gd += std::abs(v - p[(y + 1) * 32 + x + 1]);
        ga += std::abs(v - p[(y + 1) * 32 + x - 1]);
      }
    }
    for (double s : {mean, gx, gy, gd, ga}) sig.push_back(s / 930.0);
  }
  return sig;
}

// A model can learn it: nearest centroid on those features beats chance (10 %) by far.
TEST(Synthetic, NearestCentroidLearnsTheClasses) {
  const auto ds = data::make_synthetic(small(11));
  std::vector<std::vector<double>> centroid(10, std::vector<double>(15, 0.0));
  for (std::int64_t i = 0; i < ds.train.count; ++i) {
    const auto s = signature(ds, ds.train, i);
    for (std::size_t k = 0; k < s.size(); ++k)
      centroid[static_cast<std::size_t>(ds.train.labels[static_cast<std::size_t>(i)])][k] +=
          s[k] / 50.0;
  }
  int correct = 0;
  for (std::int64_t i = 0; i < ds.test.count; ++i) {
    const auto s = signature(ds, ds.test, i);
    int best = 0;
    double best_d = 1e300;
    for (int c = 0; c < 10; ++c) {
      double d = 0;
      for (std::size_t k = 0; k < s.size(); ++k)
        d += (s[k] - centroid[static_cast<std::size_t>(c)][k]) *
             (s[k] - centroid[static_cast<std::size_t>(c)][k]);
      if (d < best_d) best_d = d, best = c;
    }
    correct += best == ds.test.labels[static_cast<std::size_t>(i)];
  }
  EXPECT_GT(correct, 160) << "accuracy " << correct / 2.0 << " % (chance is 10 %)";
}

}  // namespace
}  // namespace cb
