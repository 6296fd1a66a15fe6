// The recipe section: defaults, every key read, and invalid values refused naming the key.
#include "data/pipeline_config.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace cb::data {
namespace {

PipelineConfig parse(const std::string& text) {
  const toml::table t = config::parse_string(text, "recipe.toml");
  config::TableReader root(t, "recipe.toml");
  return parse_pipeline_config(root);
}

// The InputError message a recipe produces ("" when it parses).
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(PipelineConfig, DefaultsAreCommonCifarPractice) {
  const PipelineConfig c = parse("");
  EXPECT_EQ(c.augment.crop_padding, 4);
  EXPECT_EQ(c.augment.crop_fill, CropFill::zero);
  EXPECT_EQ(c.augment.flip, FlipMode::random);
  EXPECT_EQ(c.augment.rotation_degrees, 0);
  EXPECT_EQ(c.augment.cutout, 0);
  EXPECT_EQ(c.normalize.mode, NormalizeMode::mean_std);
  EXPECT_TRUE(c.normalize.mean.empty());  // computed from the training split
  EXPECT_EQ(c.layout, Layout::nchw);
  EXPECT_EQ(c.precision, Precision::float32);
  EXPECT_EQ(c.batch_size, 128);
  EXPECT_TRUE(c.drop_last);
}

TEST(PipelineConfig, EveryKeyIsRead) {
  const PipelineConfig c = parse(R"(
[data]
batch_size = 64
drop_last = false
layout = "NHWC"
dtype = "uint8"
workers = 3
prefetch = 8
shard_rule = "drop"
resize = [64, 48]
[augment]
crop_padding = 2
crop_fill = "reflect"
flip = "alternating"
rotation_degrees = 15
rotation_fill = 128
brightness = 0.2
contrast = 0.3
cutout = 8
[normalize]
mode = "mean_std"
mean = [0.49, 0.48, 0.45]
std = [0.25, 0.24, 0.26]
)");
  EXPECT_EQ(c.batch_size, 64);
  EXPECT_FALSE(c.drop_last);
  EXPECT_EQ(c.layout, Layout::nhwc);
  EXPECT_EQ(c.precision, Precision::uint8);
  EXPECT_EQ(c.workers, 3);
  EXPECT_EQ(c.prefetch, 8);
  EXPECT_EQ(c.shard_rule, ShardRule::drop);
  EXPECT_EQ(c.resize_height, 64);
  EXPECT_EQ(c.resize_width, 48);
  EXPECT_EQ(c.augment.crop_padding, 2);
  EXPECT_EQ(c.augment.crop_fill, CropFill::reflect);
  EXPECT_EQ(c.augment.flip, FlipMode::alternating);
  EXPECT_EQ(c.augment.rotation_degrees, 15);
  EXPECT_EQ(c.augment.rotation_fill, 128);
  EXPECT_DOUBLE_EQ(c.augment.brightness, 0.2);
  EXPECT_DOUBLE_EQ(c.augment.contrast, 0.3);
  EXPECT_EQ(c.augment.cutout, 8);
  EXPECT_EQ(c.normalize.mean, (std::vector<double>{0.49, 0.48, 0.45}));
  EXPECT_EQ(c.normalize.std, (std::vector<double>{0.25, 0.24, 0.26}));
}

TEST(PipelineConfig, ASingleResizeValueIsASquare) {
  const PipelineConfig c = parse("[data]\nresize = 224\n");
  EXPECT_EQ(c.resize_height, 224);
  EXPECT_EQ(c.resize_width, 224);
}

TEST(PipelineConfig, JsonSpellsTheTomlKeys) {
  const auto j = to_json(parse("[augment]\nflip = \"none\"\n"));
  EXPECT_EQ(j["augment"]["flip"], "none");
  EXPECT_EQ(j["data"]["layout"], "NCHW");
  EXPECT_EQ(j["normalize"]["mode"], "mean_std");
}

TEST(PipelineConfig, OutOfRangePaddingIsRefusedNamingTheKeyAndRange) {
  const std::string e = error_of("[augment]\ncrop_padding = 65\n");
  EXPECT_NE(e.find("augment.crop_padding"), std::string::npos) << e;
  EXPECT_NE(e.find("[0, 64]"), std::string::npos) << e;
}

TEST(PipelineConfig, UnknownFillIsRefusedListingTheChoices) {
  const std::string e = error_of("[augment]\ncrop_fill = \"edge\"\n");
  EXPECT_NE(e.find("augment.crop_fill"), std::string::npos) << e;
  EXPECT_NE(e.find("zero, reflect"), std::string::npos) << e;
}

TEST(PipelineConfig, MisspeltKeyIsRefusedNamingIt) {
  const std::string e = error_of("[augment]\nrotation_degree = 5\n");
  EXPECT_NE(e.find("augment.rotation_degree"), std::string::npos) << e;
}

TEST(PipelineConfig, InvalidValuesAreRefusedNamingTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[data]\nbatch_size = 0\n", "data.batch_size"},
      {"[data]\nlayout = \"NCWH\"\n", "data.layout"},
      {"[data]\ndtype = \"float16\"\n", "data.dtype"},
      {"[data]\nworkers = -1\n", "data.workers"},
      {"[data]\nprefetch = 0\n", "data.prefetch"},
      {"[data]\nshard_rule = \"wrap\"\n", "data.shard_rule"},
      {"[data]\nresize = [1, 2, 3]\n", "data.resize"},
      {"[data]\nresize = 0\n", "data.resize"},
      {"[data]\ndrop_last = 1\n", "data.drop_last"},
      {"[augment]\nflip = \"vertical\"\n", "augment.flip"},
      {"[augment]\nrotation_degrees = 181\n", "augment.rotation_degrees"},
      {"[augment]\nrotation_fill = 256\n", "augment.rotation_fill"},
      {"[augment]\nbrightness = 1.5\n", "augment.brightness"},
      {"[augment]\ncontrast = -0.1\n", "augment.contrast"},
      {"[augment]\ncutout = -2\n", "augment.cutout"},
      {"[normalize]\nmode = \"minmax\"\n", "normalize.mode"},
      {"[normalize]\nmean = [0.5, 0.5, 0.5]\n", "normalize.std"},
      {"[normalize]\nmean = [0.5]\nstd = [0.0]\n", "normalize.std"},
      {"[normalize]\nmean = [1.5]\nstd = [0.5]\n", "normalize.mean"},
      {"[normalize]\nmean = [0.5, 0.5]\nstd = [0.5]\n", "normalize.std"},
      {"[normalize]\nmode = \"unit\"\nmean = [0.5]\nstd = [0.5]\n", "normalize.mean"},
      {"data = 3\n", "data"},
  };
  for (const auto& [text, key] : cases) {
    const std::string e = error_of(text);
    EXPECT_NE(e.find("'" + key + "'"), std::string::npos) << text << " gave: " << e;
  }
}

}  // namespace
}  // namespace cb::data
