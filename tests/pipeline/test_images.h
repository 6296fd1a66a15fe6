// Small synthetic datasets and images for the pipeline tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace cb::data::testing {

// Pixel (c, y, x) of image i: a pattern in which every image and every position differs.
inline std::uint8_t pattern_pixel(std::int64_t i, int c, int y, int x) {
  return static_cast<std::uint8_t>((i * 37 + c * 101 + y * 13 + x * 7 + (x * y) % 11) & 0xFF);
}

inline std::vector<std::uint8_t> pattern_image(int channels, int height, int width,
                                               std::int64_t i = 0) {
  std::vector<std::uint8_t> pixels;
  for (int c = 0; c < channels; ++c)
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) pixels.push_back(pattern_pixel(i, c, y, x));
  return pixels;
}

inline Split pattern_split(std::int64_t count, int channels, int height, int width) {
  Split s;
  s.count = count;
  for (std::int64_t i = 0; i < count; ++i) {
    const auto image = pattern_image(channels, height, width, i);
    s.pixels.insert(s.pixels.end(), image.begin(), image.end());
    s.labels.push_back(static_cast<std::int32_t>(i % 10));
  }
  return s;
}

// A CIFAR-shaped (or smaller) dataset of `train` and `test` patterned images.
inline Dataset pattern_dataset(std::int64_t train, std::int64_t test, int channels = 3,
                               int height = 8, int width = 8) {
  Dataset d;
  d.name = "pattern";
  d.source = "tests";
  d.synthetic = true;
  d.channels = channels;
  d.height = height;
  d.width = width;
  for (int k = 0; k < 10; ++k) d.classes.push_back("class" + std::to_string(k));
  d.train = pattern_split(train, channels, height, width);
  d.test = pattern_split(test, channels, height, width);
  return d;
}

}  // namespace cb::data::testing
