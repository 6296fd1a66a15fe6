// Custom models from TOML and JSON files: the same spec as the zoo, refused with the key or
// the layer named when wrong.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/config.h"
#include "core/error.h"
#include "model/analysis.h"
#include "model/custom_model.h"
#include "model/zoo.h"

namespace cb::model {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSmallToml = R"(
name = "small"
input = [3, 8, 8]
[[layers]]
name = "conv"
op = "conv2d"
out_channels = 4
kernel = 3
padding = 1
[[layers]]
name = "relu"
op = "relu"
[[layers]]
name = "sum"
op = "add"
inputs = ["conv", "relu"]
[[layers]]
name = "pool"
op = "global_avg_pool"
[[layers]]
name = "flat"
op = "flatten"
[[layers]]
name = "fc"
op = "linear"
out_features = "classes"
)";

ModelSpec from_toml(const std::string& text, int classes = 10) {
  return model_from_table(config::parse_string(text, "m.toml"), "m.toml", classes);
}

std::string toml_error(const std::string& text) {
  try {
    from_toml(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The small model with its first `from` replaced by `to`.
std::string small_with(const std::string& from, const std::string& to) {
  std::string text = kSmallToml;
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

class ModelFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("cb_model_file_test_{}_{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return dir_ / name;
  }
  fs::path dir_;
};

TEST(CustomModel, TomlBuildsTheSpecWithShapesInferred) {
  const auto spec = from_toml(kSmallToml);
  EXPECT_EQ(spec.name, "small");
  ASSERT_EQ(spec.layers.size(), 7u);
  EXPECT_EQ(spec.layers[0].op, Op::input);
  EXPECT_EQ(spec.layers[1].out, (Shape{4, 8, 8}));
  EXPECT_TRUE(spec.layers[1].bias);  // PyTorch's default
  EXPECT_EQ(spec.layers[3].inputs, (std::vector<int>{1, 2}));
  EXPECT_EQ(spec.layers.back().out, (Shape{10, 1, 1}));
}

TEST(CustomModel, ClassesTakesTheRunsClassCount) {
  EXPECT_EQ(from_toml(kSmallToml, 3).layers.back().out_features, 3);
}

TEST(CustomModel, PoolStrideDefaultsToItsKernel) {
  const auto spec = from_toml(small_with(
      "[[layers]]\nname = \"pool\"",
      "[[layers]]\nname = \"mp\"\nop = \"max_pool\"\nkernel = 2\n[[layers]]\nname = \"pool\""));
  EXPECT_EQ(spec.layers[4].stride, 2);
  EXPECT_EQ(spec.layers[4].out, (Shape{4, 4, 4}));
}

TEST(CustomModel, UnknownOpIsRefusedNamingTheKey) {
  const auto error = toml_error(small_with("op = \"relu\"", "op = \"swish\""));
  EXPECT_TRUE(contains(error, "m.toml: key 'layers[1].op'")) << error;
  EXPECT_TRUE(contains(error, "swish")) << error;
}

TEST(CustomModel, AKeyThatTheOpDoesNotTakeIsRefused) {
  const auto error = toml_error(small_with("op = \"relu\"", "op = \"relu\"\nkernel = 3"));
  EXPECT_TRUE(contains(error, "'layers[1].kernel'")) << error;
}

TEST(CustomModel, UnknownTopLevelKeyIsRefused) {
  const auto error = toml_error(std::string("colour = \"red\"\n") + kSmallToml);
  EXPECT_TRUE(contains(error, "'colour'")) << error;
}

TEST(CustomModel, InputNamingALaterLayerIsRefused) {
  const auto error = toml_error(small_with("[\"conv\", \"relu\"]", "[\"conv\", \"fc\"]"));
  EXPECT_TRUE(contains(error, "'layers[2].inputs'")) << error;
  EXPECT_TRUE(contains(error, "'fc'")) << error;
}

TEST(CustomModel, InvalidGraphIsRefusedNamingTheLayer) {
  std::string text = small_with("op = \"global_avg_pool\"", "op = \"relu\"");
  text.replace(text.find("op = \"flatten\""), 14, "op = \"gelu\"");  // fc now sees 4×8×8
  const auto error = toml_error(text);
  EXPECT_TRUE(contains(error, "layer 'fc'")) << error;
  EXPECT_TRUE(contains(error, "not flat")) << error;
}

TEST(CustomModel, ConvWithoutKernelIsRefused) {
  EXPECT_TRUE(contains(toml_error(small_with("kernel = 3\n", "")), "'layers[0].kernel'"));
}

TEST(CustomModel, MissingLayersAreRefused) {
  EXPECT_TRUE(contains(toml_error("name = \"x\"\n"), "'layers'"));
}

TEST(CustomModel, ALayerCalledInputClashesWithTheImplicitInput) {
  const auto error = toml_error(small_with("name = \"pool\"", "name = \"input\""));
  EXPECT_TRUE(contains(error, "layer 'input'")) << error;
  EXPECT_TRUE(contains(error, "duplicate")) << error;
}

TEST_F(ModelFile, JsonGivesTheSameSpecAsToml) {
  const auto json = write("small.json", R"({
    "name": "small", "input": [3, 8, 8],
    "layers": [
      {"name": "conv", "op": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1},
      {"name": "relu", "op": "relu"},
      {"name": "sum", "op": "add", "inputs": ["conv", "relu"]},
      {"name": "pool", "op": "global_avg_pool"},
      {"name": "flat", "op": "flatten"},
      {"name": "fc", "op": "linear", "out_features": "classes"}
    ]})");
  const auto a = load_model_file(json, 10);
  const auto b = from_toml(kSmallToml);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    EXPECT_EQ(a.layers[i].name, b.layers[i].name);
    EXPECT_EQ(a.layers[i].op, b.layers[i].op);
    EXPECT_EQ(a.layers[i].out, b.layers[i].out);
  }
  EXPECT_EQ(parameter_count(a), parameter_count(b));
}

TEST_F(ModelFile, MalformedJsonIsRefusedWithTheByteOffset) {
  const auto path = write("bad.json", R"({"name": "x", "layers": [})");
  try {
    load_model_file(path, 10);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "bad.json: byte offset")) << e.what();
  }
}

TEST_F(ModelFile, MalformedTomlIsRefusedWithTheLine) {
  const auto path = write("bad.toml", "name = \"x\"\nlayers = [\n");
  try {
    load_model_file(path, 10);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "bad.toml:")) << e.what();
  }
}

TEST_F(ModelFile, ResolveAcceptsAZooNameOrAModelFile) {
  EXPECT_EQ(resolve_model("resnet20", 10).name, "resnet20");
  const auto path = write("small.toml", kSmallToml);
  EXPECT_EQ(resolve_model(path.string(), 10).name, "small");
}

TEST(CustomModel, ResolveRefusesAnUnknownNameListingTheZoo) {
  try {
    resolve_model("resnet-twenty", 10);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "resnet-twenty")) << e.what();
    EXPECT_TRUE(contains(e.what(), "simple-cnn")) << e.what();
  }
}

TEST(CustomModel, ResolveRefusesAMissingFileNamingIt) {
  try {
    resolve_model("/nonexistent/model.toml", 10);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "/nonexistent/model.toml")) << e.what();
  }
}

TEST(CustomModel, TheShippedExampleLoads) {
  const auto spec =
      resolve_model(std::string(CIFARBENCH_SOURCE_DIR) + "/configs/models/tiny-cnn.toml", 10);
  EXPECT_EQ(spec.name, "tiny-cnn");
  EXPECT_EQ(spec.layers.back().out, (Shape{10, 1, 1}));
  EXPECT_GT(parameter_count(spec), 0);
}

TEST(CustomModel, EveryZooModelRoundTripsThroughTheJsonFormat) {
  for (const auto& name : zoo_names()) {
    const auto zoo = build_zoo_model(name, 10);
    const auto copy = model_from_json(model_to_json(zoo).dump(), name + ".json", 10);
    ASSERT_EQ(copy.layers.size(), zoo.layers.size()) << name;
    for (std::size_t i = 0; i < zoo.layers.size(); ++i) {
      const auto& a = zoo.layers[i];
      const auto& b = copy.layers[i];
      EXPECT_EQ(a.name, b.name);
      EXPECT_EQ(a.op, b.op) << a.name;
      EXPECT_EQ(resolved_inputs(zoo, static_cast<int>(i)),
                resolved_inputs(copy, static_cast<int>(i)))
          << a.name;
      EXPECT_EQ(a.out, b.out) << a.name;
      EXPECT_EQ(a.momentum, b.momentum) << a.name;
      EXPECT_EQ(a.eps, b.eps) << a.name;
      EXPECT_EQ(a.bias, b.bias) << a.name;
      EXPECT_EQ(a.scale, b.scale) << a.name;
    }
    EXPECT_EQ(parameter_count(copy), parameter_count(zoo)) << name;
    EXPECT_EQ(flop_count(copy), flop_count(zoo)) << name;
  }
}

// Found by fuzz/model_file_fuzz: a number too large for a double escaped as a library error.
TEST(CustomModelJson, ANumberOutOfRangeIsAnInputErrorNamingTheFile) {
  try {
    model_from_json(R"({"name": "x", "input": [3, 32, 1e505], "layers": []})", "big.json", 10);
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("big.json: malformed JSON"), std::string::npos) << e.what();
  }
}

// Issue 19: each size is bounded, their product was not (10^13 parameters passed validation).
TEST(CustomModelSize, ModelWithTooManyParametersIsRefusedAtValidation) {
  const std::string text = R"(
name = "huge"
input = [3, 32, 32]
[[layers]]
name = "wide"
op = "conv2d"
out_channels = 1048576
kernel = 3
[[layers]]
name = "wider"
op = "conv2d"
out_channels = 1048576
kernel = 3
[[layers]]
name = "pool"
op = "global_avg_pool"
[[layers]]
name = "flat"
op = "flatten"
[[layers]]
name = "fc"
op = "linear"
out_features = "classes"
)";
  try {
    model_from_table(config::parse_string(text, "huge.toml"), "huge.toml", 10);
    FAIL() << "a model of about 10^13 parameters was accepted";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("huge.toml"), std::string::npos) << message;
    EXPECT_NE(message.find("at most"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace cb::model
