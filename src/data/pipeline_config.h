// The input pipeline's recipe section: the [data], [augment] and [normalize] tables of a recipe,
// read into one option struct whose defaults are common CIFAR practice (crop 4 + random flip,
// per-channel mean/std of the training split). docs/pipeline.md lists every key and its range.
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>
#include <vector>

#include "core/config.h"
#include "data/batch.h"

namespace cb::data {

enum class CropFill { zero, reflect };               // what the crop's padding holds
enum class FlipMode { none, random, alternating };   // alternating: airbench's derandomized flip
enum class NormalizeMode { mean_std, unit, symmetric };  // (x-mean)/std, [0, 1] or [-1, 1]
// How an epoch that does not divide by the world size is shared (see sampler.h).
enum class ShardRule { exact, pad, drop };

std::string_view to_string(CropFill fill);
std::string_view to_string(FlipMode mode);
std::string_view to_string(NormalizeMode mode);
std::string_view to_string(ShardRule rule);
std::string_view to_string(Precision precision);

// Random augmentation of training images; every field at its "off" value disables that step.
struct AugmentConfig {
  int crop_padding = 4;                 // random crop back to the image size after padding
  CropFill crop_fill = CropFill::zero;  // zero (torchvision's default) or reflect (airbench)
  FlipMode flip = FlipMode::random;
  double rotation_degrees = 0;          // angle uniform in [-N, N], bilinear
  int rotation_fill = 0;                // pixel value (0..255) of the corners a rotation uncovers
  double brightness = 0;                // factor uniform in [1-b, 1+b]
  double contrast = 0;                  // factor uniform in [1-c, 1+c], around the gray mean
  int cutout = 0;                       // side of the square set to zero after normalizing
};

struct NormalizeConfig {
  NormalizeMode mode = NormalizeMode::mean_std;
  // Per channel, in [0, 1] pixel units; empty: computed from the training split (mean_std only).
  std::vector<double> mean;
  std::vector<double> std;
};

struct PipelineConfig {
  int batch_size = 128;
  bool drop_last = true;  // training only; evaluation always keeps the last, short batch
  Layout layout = Layout::nchw;
  Precision precision = Precision::float32;
  int workers = 1;        // prefetch threads; 0 assembles batches in the caller's thread
  int prefetch = 4;       // batches assembled ahead (the bounded queue's depth)
  ShardRule shard_rule = ShardRule::pad;
  int resize_height = 0;  // bilinear resize of every image (training and evaluation); 0: keep
  int resize_width = 0;
  AugmentConfig augment;
  NormalizeConfig normalize;
};

// Reads the [data], [augment] and [normalize] tables of a recipe (each optional), checking every
// value's range and refusing unknown keys in those tables; errors name the full key.
PipelineConfig parse_pipeline_config(config::TableReader& recipe_root);

// The configuration as JSON (for the results store and logs), every key spelled as in TOML.
nlohmann::json to_json(const PipelineConfig& config);

}  // namespace cb::data
