// The zoo: every model builds for any class count, with the parameter counts the papers and the
// reference PyTorch implementations give.
#include <gtest/gtest.h>

#include "core/error.h"
#include "model/analysis.h"
#include "model/zoo.h"

namespace cb::model {
namespace {

TEST(Zoo, Resnet18HasTheReferenceParameterCount) {
  EXPECT_EQ(parameter_count(build_zoo_model("resnet18", 10)), 11'173'962);
}

TEST(Zoo, Resnet20WithZeroPadShortcutsHasTheReferenceParameterCount) {
  EXPECT_EQ(parameter_count(build_zoo_model("resnet20", 10)), 269'722);
}

TEST(Zoo, Resnet20WithProjectionShortcutsHasTheReferenceParameterCount) {
  EXPECT_EQ(parameter_count(build_zoo_model("resnet20-b", 10)), 272'474);
}

TEST(Zoo, Resnet56WithZeroPadShortcutsHasTheReferenceParameterCount) {
  EXPECT_EQ(parameter_count(build_zoo_model("resnet56", 10)), 853'018);
}

TEST(Zoo, Resnet56WithProjectionShortcutsHasTheReferenceParameterCount) {
  EXPECT_EQ(parameter_count(build_zoo_model("resnet56-b", 10)), 855'770);
}

TEST(Zoo, Vgg16BnHasTheReferenceParameterCount) {
  EXPECT_EQ(parameter_count(build_zoo_model("vgg16-bn", 10)), 14'728'266);
}

TEST(Zoo, Vgg11BnHasTheReferenceParameterCount) {
  EXPECT_EQ(parameter_count(build_zoo_model("vgg11-bn", 10)), 9'231'114);
}

TEST(Zoo, SimpleCnnHasItsDocumentedCountAndCostsUnder100MflopsPerImage) {
  const auto spec = build_zoo_model("simple-cnn", 10);
  EXPECT_EQ(parameter_count(spec), 288'746);
  EXPECT_LT(flop_count(spec), 100'000'000);
}

TEST(Zoo, Airbench94HasItsDocumentedCount) {
  EXPECT_EQ(parameter_count(build_zoo_model("airbench94", 10)), 1'972'792);
}

TEST(Zoo, EveryModelCountsTheDocumentedFlops) {
  // Values documented in docs/models.md (a multiply-add counts 2).
  const std::vector<std::pair<std::string, std::int64_t>> expected = {
      {"simple-cnn", 77'672'970},   {"resnet20", 81'757'450},   {"resnet20-b", 82'306'314},
      {"resnet56", 252'830'986},    {"resnet56-b", 253'379'850}, {"resnet18", 1'112'885'258},
      {"vgg11-bn", 306'270'218},    {"vgg16-bn", 627'634'186},   {"airbench94", 236'635'642}};
  for (const auto& [name, flops] : expected) {
    EXPECT_EQ(flop_count(build_zoo_model(name, 10)), flops) << name;
  }
}

TEST(Zoo, EveryModelOutputsOneLogitPerClass) {
  for (const auto& name : zoo_names()) {
    for (int classes : {2, 10, 100}) {
      const auto spec = build_zoo_model(name, classes);
      EXPECT_EQ(spec.layers.back().out, (Shape{classes, 1, 1})) << name << " " << classes;
      EXPECT_EQ(spec.num_classes, classes);
      EXPECT_EQ(spec.name, name);
      EXPECT_FALSE(spec.description.empty()) << name;
    }
  }
}

TEST(Zoo, ClassCountChangesOnlyTheClassifier) {
  // resnet20's linear layer is 64 → classes with a bias: 65 parameters per class.
  EXPECT_EQ(parameter_count(build_zoo_model("resnet20", 100)) -
                parameter_count(build_zoo_model("resnet20", 10)),
            90 * 65);
}

TEST(Zoo, ListsEveryModelTheIssueNames) {
  for (const char* name : {"simple-cnn", "resnet20", "resnet56", "resnet18", "vgg11-bn",
                           "vgg16-bn", "airbench94", "resnet20-b", "resnet56-b"}) {
    EXPECT_TRUE(is_zoo_model(name)) << name;
    EXPECT_FALSE(zoo_description(name).empty()) << name;
  }
}

TEST(Zoo, UnknownNameIsAnInputErrorListingTheZoo) {
  try {
    build_zoo_model("resnet1000", 10);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("resnet1000"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("resnet20"), std::string::npos) << e.what();
  }
}

TEST(Zoo, ZeroClassesIsAnInputError) {
  EXPECT_THROW(build_zoo_model("resnet20", 0), InputError);
}

TEST(Zoo, ZeroPadShortcutSubsamplesThenPadsChannels) {
  const auto spec = build_zoo_model("resnet20", 10);
  int subsample = -1;
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    if (spec.layers[i].name == "layer2.0.shortcut.subsample") subsample = static_cast<int>(i);
  }
  ASSERT_GE(subsample, 0);
  EXPECT_EQ(spec.layers[static_cast<std::size_t>(subsample)].out, (Shape{16, 16, 16}));
  const auto& pad = spec.layers[static_cast<std::size_t>(subsample) + 1];
  EXPECT_EQ(pad.op, Op::pad_channels);
  EXPECT_EQ(pad.out, (Shape{32, 16, 16}));
}

}  // namespace
}  // namespace cb::model
