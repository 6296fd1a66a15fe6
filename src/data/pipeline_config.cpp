#include "data/pipeline_config.h"

#include <fmt/format.h>

namespace cb::data {

std::string_view to_string(CropFill fill) { return fill == CropFill::zero ? "zero" : "reflect"; }

std::string_view to_string(FlipMode mode) {
  switch (mode) {
    case FlipMode::none: return "none";
    case FlipMode::random: return "random";
    case FlipMode::alternating: return "alternating";
  }
  return "?";
}

std::string_view to_string(NormalizeMode mode) {
  switch (mode) {
    case NormalizeMode::mean_std: return "mean_std";
    case NormalizeMode::unit: return "unit";
    case NormalizeMode::symmetric: return "symmetric";
  }
  return "?";
}

std::string_view to_string(ShardRule rule) {
  switch (rule) {
    case ShardRule::exact: return "exact";
    case ShardRule::pad: return "pad";
    case ShardRule::drop: return "drop";
  }
  return "?";
}

std::string_view to_string(Precision precision) {
  return precision == Precision::float32 ? "float32" : "uint8";
}

namespace {
constexpr int kMaxImageSide = 4096;

void read_data_table(config::TableReader& t, PipelineConfig& c) {
  c.batch_size = static_cast<int>(t.integer("batch_size", c.batch_size, 1, 1 << 20));
  c.drop_last = t.boolean("drop_last", c.drop_last);
  c.layout = t.choice("layout", "NCHW", {"NCHW", "NHWC"}) == "NCHW" ? Layout::nchw : Layout::nhwc;
  c.precision = t.choice("dtype", "float32", {"float32", "uint8"}) == "float32"
                    ? Precision::float32
                    : Precision::uint8;
  c.workers = static_cast<int>(t.integer("workers", c.workers, 0, 256));
  c.prefetch = static_cast<int>(t.integer("prefetch", c.prefetch, 1, 1024));
  const std::string rule = t.choice("shard_rule", "pad", {"exact", "pad", "drop"});
  c.shard_rule = rule == "exact" ? ShardRule::exact
                 : rule == "pad" ? ShardRule::pad
                                 : ShardRule::drop;
  const auto resize = t.integers("resize", {});
  if (resize.size() > 2) t.fail("resize", "one integer (a square side) or [height, width]");
  for (const auto side : resize) {
    if (side < 1 || side > kMaxImageSide) {
      t.fail("resize", fmt::format("sides in [1, {}], got {}", kMaxImageSide, side));
    }
  }
  if (!resize.empty()) {
    c.resize_height = static_cast<int>(resize.front());
    c.resize_width = static_cast<int>(resize.back());
  }
  t.reject_unknown_keys();
}

void read_augment_table(config::TableReader& t, AugmentConfig& a) {
  a.crop_padding = static_cast<int>(t.integer("crop_padding", a.crop_padding, 0, 64));
  a.crop_fill = t.choice("crop_fill", "zero", {"zero", "reflect"}) == "zero" ? CropFill::zero
                                                                             : CropFill::reflect;
  const std::string flip = t.choice("flip", "random", {"random", "alternating", "none"});
  a.flip = flip == "random" ? FlipMode::random
           : flip == "alternating" ? FlipMode::alternating
                                   : FlipMode::none;
  a.rotation_degrees = t.number("rotation_degrees", a.rotation_degrees, 0, 180);
  a.rotation_fill = static_cast<int>(t.integer("rotation_fill", a.rotation_fill, 0, 255));
  a.brightness = t.number("brightness", a.brightness, 0, 1);
  a.contrast = t.number("contrast", a.contrast, 0, 1);
  a.cutout = static_cast<int>(t.integer("cutout", a.cutout, 0, kMaxImageSide));
  t.reject_unknown_keys();
}

void read_normalize_table(config::TableReader& t, NormalizeConfig& n) {
  const std::string mode = t.choice("mode", "mean_std", {"mean_std", "unit", "symmetric"});
  n.mode = mode == "mean_std" ? NormalizeMode::mean_std
           : mode == "unit"   ? NormalizeMode::unit
                              : NormalizeMode::symmetric;
  const bool has_mean = t.has("mean");
  const bool has_std = t.has("std");
  n.mean = t.numbers("mean", {});
  n.std = t.numbers("std", {});
  if ((has_mean || has_std) && n.mode != NormalizeMode::mean_std) {
    t.fail(has_mean ? "mean" : "std", "no value unless mode = \"mean_std\"");
  }
  if (has_mean != has_std) {
    t.fail(has_mean ? "std" : "mean", "a value too: mean and std are given together or neither");
  }
  for (const double m : n.mean) {
    if (!(m >= 0 && m <= 1)) t.fail("mean", fmt::format("numbers in [0, 1], got {}", m));
  }
  for (const double s : n.std) {
    if (!(s > 0 && s <= 1)) t.fail("std", fmt::format("numbers in (0, 1], got {}", s));
  }
  if (n.mean.size() != n.std.size()) {
    t.fail("std", fmt::format("as many values as mean ({}), got {}", n.mean.size(), n.std.size()));
  }
  if (has_mean && n.mean.empty()) t.fail("mean", "one number per channel");
  t.reject_unknown_keys();
}
}  // namespace

PipelineConfig parse_pipeline_config(config::TableReader& recipe_root) {
  PipelineConfig c;
  if (auto t = recipe_root.table("data")) read_data_table(*t, c);
  if (auto t = recipe_root.table("augment")) read_augment_table(*t, c.augment);
  if (auto t = recipe_root.table("normalize")) read_normalize_table(*t, c.normalize);
  return c;
}

nlohmann::json to_json(const PipelineConfig& c) {
  nlohmann::json data = {{"batch_size", c.batch_size},
                         {"drop_last", c.drop_last},
                         {"layout", to_string(c.layout)},
                         {"dtype", to_string(c.precision)},
                         {"workers", c.workers},
                         {"prefetch", c.prefetch},
                         {"shard_rule", to_string(c.shard_rule)}};
  if (c.resize_height > 0) data["resize"] = {c.resize_height, c.resize_width};
  const auto& a = c.augment;
  nlohmann::json augment = {{"crop_padding", a.crop_padding},
                            {"crop_fill", to_string(a.crop_fill)},
                            {"flip", to_string(a.flip)},
                            {"rotation_degrees", a.rotation_degrees},
                            {"rotation_fill", a.rotation_fill},
                            {"brightness", a.brightness},
                            {"contrast", a.contrast},
                            {"cutout", a.cutout}};
  nlohmann::json normalize = {{"mode", to_string(c.normalize.mode)}};
  if (!c.normalize.mean.empty()) {
    normalize["mean"] = c.normalize.mean;
    normalize["std"] = c.normalize.std;
  }
  return {{"data", data}, {"augment", augment}, {"normalize", normalize}};
}

}  // namespace cb::data
