// The in-memory dataset every pipeline and backend reads: uint8 pixels in CIFAR's planar layout.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cb::data {

// One split (train or test): `count` images of channels × height × width uint8 pixels, each
// image stored planar (all R, then all G, then all B; rows top to bottom), as in CIFAR's binary.
struct Split {
  std::int64_t count = 0;
  std::vector<std::uint8_t> pixels;  // count × C × H × W
  std::vector<std::int32_t> labels;  // count, each in [0, classes.size())

  const std::uint8_t* image(std::int64_t i, std::int64_t image_bytes) const {
    return pixels.data() + i * image_bytes;
  }
};

struct Dataset {
  std::string name;    // "cifar10", "cifar100-fine", "synthetic", or the folder's name
  std::string source;  // where it was loaded from (path, URL or "synthetic(seed=…)")
  bool synthetic = false;  // true for generated data: accuracy figures are not CIFAR's
  int channels = 3;
  int height = 32;
  int width = 32;
  std::vector<std::string> classes;  // label i is classes[i]
  Split train;
  Split test;

  std::int64_t image_bytes() const {
    return static_cast<std::int64_t>(channels) * height * width;
  }
  int num_classes() const { return static_cast<int>(classes.size()); }
};

}  // namespace cb::data
