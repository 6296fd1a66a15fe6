// Harness-owned initial weights: complete, deterministic for a seed, and drawn from the
// documented distributions.
#include <gtest/gtest.h>

#include <cmath>

#include "model/analysis.h"
#include "model/initial_weights.h"
#include "model/zoo.h"

namespace cb::model {
namespace {

double mean(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += x;
  return s / static_cast<double>(v.size());
}

double stddev(const std::vector<float>& v) {
  const double m = mean(v);
  double s = 0;
  for (float x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size()));
}

TEST(InitialWeights, HaveOneTensorPerParameterShapeInOrder) {
  const auto spec = build_zoo_model("resnet20", 10);
  const auto weights = initial_weights(spec, 1);
  const auto shapes = parameter_shapes(spec);
  ASSERT_EQ(weights.tensors.size(), shapes.size());
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    EXPECT_EQ(weights.tensors[i].name, shapes[i].name);
    EXPECT_EQ(weights.tensors[i].tensor.shape, shapes[i].shape);
    EXPECT_EQ(weights.tensors[i].trainable, shapes[i].trainable);
    EXPECT_EQ(static_cast<std::int64_t>(weights.tensors[i].tensor.values.size()),
              weights.tensors[i].tensor.numel());
  }
  EXPECT_EQ(weights.trainable_count(), parameter_count(spec));
}

TEST(InitialWeights, AreIdenticalForTheSameSeed) {
  const auto spec = build_zoo_model("simple-cnn", 10);
  const auto a = initial_weights(spec, 42);
  const auto b = initial_weights(spec, 42);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    EXPECT_EQ(a.tensors[i].tensor.values, b.tensors[i].tensor.values) << a.tensors[i].name;
  }
}

TEST(InitialWeights, DifferAcrossSeeds) {
  const auto spec = build_zoo_model("simple-cnn", 10);
  const auto a = initial_weights(spec, 1);
  const auto b = initial_weights(spec, 2);
  EXPECT_NE(a.find("conv1.weight")->tensor.values, b.find("conv1.weight")->tensor.values);
  EXPECT_NE(a.find("linear.weight")->tensor.values, b.find("linear.weight")->tensor.values);
}

TEST(InitialWeights, DifferAcrossTensorsOfTheSameShape) {
  const auto spec = build_zoo_model("resnet20", 10);
  const auto w = initial_weights(spec, 1);
  EXPECT_NE(w.find("layer1.0.conv1.weight")->tensor.values,
            w.find("layer1.0.conv2.weight")->tensor.values);
}

// Pinned values: a change here changes every benchmark's starting point on every machine.
TEST(InitialWeights, MatchPinnedValuesForSeedZero) {
  const auto spec = build_zoo_model("resnet20", 10);
  const auto w = initial_weights(spec, 0);
  const auto& conv = w.find("conv1.weight")->tensor.values;
  const auto& fc = w.find("linear.bias")->tensor.values;
  EXPECT_EQ(conv[0], -0x1.2d107p-3f);
  EXPECT_EQ(conv[1], 0x1.18d23ep-5f);
  EXPECT_EQ(fc[0], -0x1.ee79b4p-5f);
}

TEST(InitialWeights, ConvolutionsFollowKaimingNormalFanOut) {
  const auto spec = build_zoo_model("resnet18", 10);
  const auto w = initial_weights(spec, 3);
  const auto& v = w.find("layer4.0.conv2.weight")->tensor.values;
  const double expected = std::sqrt(2.0 / (512 * 3 * 3));  // 2.36M samples
  EXPECT_NEAR(mean(v), 0.0, expected * 0.01);
  EXPECT_NEAR(stddev(v), expected, expected * 0.01);
}

TEST(InitialWeights, LinearLayersAreUniformWithinOneOverRootFanIn) {
  const auto spec = build_zoo_model("vgg16-bn", 10);
  const auto w = initial_weights(spec, 3);
  const double bound = 1.0 / std::sqrt(512.0);
  for (const char* name : {"classifier.weight", "classifier.bias"}) {
    for (float x : w.find(name)->tensor.values) {
      EXPECT_LE(std::abs(x), bound) << name;
    }
  }
  const auto& v = w.find("classifier.weight")->tensor.values;
  EXPECT_NEAR(stddev(v), bound / std::sqrt(3.0), bound * 0.1);
}

TEST(InitialWeights, ConvolutionBiasIsUniformWithinOneOverRootFanIn) {
  const auto spec = build_zoo_model("vgg11-bn", 10);
  const auto w = initial_weights(spec, 3);
  const auto& v = w.find("features.0.bias")->tensor.values;
  const double bound = 1.0 / std::sqrt(3.0 * 3 * 3);
  for (float x : v) EXPECT_LE(std::abs(x), bound);
  EXPECT_GT(stddev(v), 0.0);
}

TEST(InitialWeights, BatchNormStartsAsTheIdentity) {
  const auto spec = build_zoo_model("resnet20", 10);
  const auto w = initial_weights(spec, 5);
  for (const auto& [name, value] : std::vector<std::pair<std::string, float>>{
           {"bn1.weight", 1.0f}, {"bn1.bias", 0.0f}, {"bn1.running_mean", 0.0f},
           {"bn1.running_var", 1.0f}}) {
    for (float x : w.find(name)->tensor.values) EXPECT_EQ(x, value) << name;
  }
  EXPECT_TRUE(w.find("bn1.weight")->trainable);
  EXPECT_FALSE(w.find("bn1.running_var")->trainable);
}

TEST(StableHash, IsFnv1a64) {
  EXPECT_EQ(stable_hash(""), 0xCBF29CE484222325ULL);
  EXPECT_EQ(stable_hash("a"), 0xAF63DC4C8601EC8CULL);
}

}  // namespace
}  // namespace cb::model
