#include "core/config.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace cb::config {
namespace {

TEST(Config, MalformedTomlNamesLineAndColumn) {
  try {
    parse_string("a = 1\nb = = 2\n", "suite.toml");
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("suite.toml:2:"), std::string::npos) << e.what();
    EXPECT_EQ(e.status(), ExitStatus::bad_input);
  }
}

TEST(Config, OutOfRangeNumberNamesTheFullKey) {
  const auto t = parse_string("[augment]\ncrop_padding = 99\n", "r.toml");
  TableReader root(t, "r.toml");
  auto aug = root.table("augment");
  ASSERT_TRUE(aug.has_value());
  try {
    aug->integer("crop_padding", 4, 0, 16);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("augment.crop_padding"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[0, 16]"), std::string::npos) << e.what();
  }
}

TEST(Config, DefaultsApplyWhenKeysAreAbsent) {
  const auto t = parse_string("x = 2.5\n", "r.toml");
  TableReader r(t, "r.toml");
  EXPECT_DOUBLE_EQ(r.number("x", 0, 0, 10), 2.5);
  EXPECT_DOUBLE_EQ(r.number("y", 7, 0, 10), 7);
  EXPECT_EQ(r.choice("mode", "a", {"a", "b"}), "a");
}

TEST(Config, UnknownKeysAreRefused) {
  const auto t = parse_string("epochs = 3\nepohcs = 4\n", "r.toml");
  TableReader r(t, "r.toml");
  r.integer("epochs", 1, 1, 100);
  EXPECT_THROW(r.reject_unknown_keys(), InputError);
}

TEST(Config, ChoiceOutsideTheAllowedSetListsTheChoices) {
  const auto t = parse_string("layout = \"NCWH\"\n", "r.toml");
  TableReader r(t, "r.toml");
  try {
    r.choice("layout", "NCHW", {"NCHW", "NHWC"});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("NCHW, NHWC"), std::string::npos);
  }
}

}  // namespace
}  // namespace cb::config
