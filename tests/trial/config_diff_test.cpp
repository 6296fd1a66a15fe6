// What differs between a stored configuration and the one asked for (resume checks).
#include "trial/config_diff.h"

#include <gtest/gtest.h>

namespace cb::trial {
namespace {

TEST(ConfigDifferences, EqualConfigurationsHaveNone) {
  const nlohmann::json a = {{"seed", 1}, {"recipe", {{"lr", 0.1}, {"epochs", 3}}}};
  EXPECT_TRUE(config_differences(a, a).empty());
}

TEST(ConfigDifferences, NamesEveryChangedLeafByItsPathWithBothValues) {
  const nlohmann::json stored = {{"seed", 1}, {"recipe", {{"lr", 0.1}, {"epochs", 3}}}};
  const nlohmann::json asked = {{"seed", 2}, {"recipe", {{"lr", 0.1}, {"epochs", 1}}}};
  EXPECT_EQ(config_differences(stored, asked),
            (std::vector<std::string>{"recipe.epochs: 3 → 1", "seed: 1 → 2"}));
}

TEST(ConfigDifferences, AKeyOnlyOneSideHasShowsAsAbsent) {
  const nlohmann::json stored = {{"a", 1}};
  const nlohmann::json asked = {{"b", "x"}};
  EXPECT_EQ(config_differences(stored, asked),
            (std::vector<std::string>{"a: 1 → (absent)", "b: (absent) → \"x\""}));
}

TEST(ConfigDifferences, AnIntegerAndAnEqualFloatAreTheSameNumber) {
  EXPECT_TRUE(config_differences({{"lr", 1}}, {{"lr", 1.0}}).empty());
}

}  // namespace
}  // namespace cb::trial
