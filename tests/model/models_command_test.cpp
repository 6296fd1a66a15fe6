// `cifarbench models`, run as a real child process.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "model/weights_file.h"
#include "support/run_process.h"

namespace cb {
namespace {
using testing::run_cifarbench;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ModelsCommand, ListsEveryZooModelWithItsParameterCount) {
  const auto r = run_cifarbench({"models"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "resnet18")) << r.out;
  EXPECT_TRUE(contains(r.out, "11,173,962")) << r.out;
  EXPECT_TRUE(contains(r.out, "airbench94")) << r.out;
}

TEST(ModelsCommand, JsonListsNameParametersFlopsAndDescription) {
  const auto r = run_cifarbench({"models", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["num_classes"], 10);
  ASSERT_GE(doc["models"].size(), 9u);
  bool found = false;
  for (const auto& m : doc["models"]) {
    EXPECT_FALSE(m["description"].get<std::string>().empty());
    EXPECT_GT(m["flops"].get<std::int64_t>(), 0);
    if (m["name"] == "resnet20") {
      found = true;
      EXPECT_EQ(m["parameters"], 269722);
    }
  }
  EXPECT_TRUE(found);
}

TEST(ModelsCommand, ClassesChangesTheCounts) {
  const auto r = run_cifarbench({"models", "--json", "--classes", "100"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  bool found = false;
  for (const auto& m : doc["models"]) {
    if (m["name"] != "resnet20") continue;
    found = true;
    EXPECT_EQ(m["parameters"], 269722 + 90 * 65);
  }
  EXPECT_TRUE(found);
}

TEST(ModelsCommand, ShowPrintsTheLayerTableWithShapes) {
  const auto r = run_cifarbench({"models", "show", "resnet20"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "layer3.2.conv2")) << r.out;
  EXPECT_TRUE(contains(r.out, "64×8×8")) << r.out;
  EXPECT_TRUE(contains(r.out, "269,722 parameters")) << r.out;
}

TEST(ModelsCommand, ShowJsonHasPerLayerCostsAndALoadableModel) {
  const auto r = run_cifarbench({"models", "show", "simple-cnn", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["parameters"], 288746);
  std::int64_t sum = 0;
  for (const auto& l : doc["layers"]) sum += l["parameters"].get<std::int64_t>();
  EXPECT_EQ(sum, 288746);
  EXPECT_EQ(doc["model"]["name"], "simple-cnn");
}

TEST(ModelsCommand, ShowAcceptsAModelFile) {
  const auto r = run_cifarbench(
      {"models", "show", std::string(CIFARBENCH_SOURCE_DIR) + "/configs/models/tiny-cnn.toml"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "tiny-cnn")) << r.out;
}

TEST(ModelsCommand, ShowOfAnUnknownModelExits2NamingIt) {
  const auto r = run_cifarbench({"models", "show", "resnet9000"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "resnet9000")) << r.err;
}

TEST(ModelsCommand, InitWritesTheInitialWeightsOfASeed) {
  const auto path =
      std::filesystem::temp_directory_path() / fmt::format("cb_models_init_{}.cbw", ::getpid());
  const auto r = run_cifarbench({"models", "init", "resnet20", "--seed", "3", "-o", path.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto weights = model::load_weights(path);
  std::filesystem::remove(path);
  EXPECT_EQ(weights.trainable_count(), 269722);
}

}  // namespace
}  // namespace cb
