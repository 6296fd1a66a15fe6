// Every zoo model builds in the torch backend with the spec's parameter count.
#include <gtest/gtest.h>

#include "model/analysis.h"
#include "model/initial_weights.h"
#include "model/zoo.h"
#include "tiny_models.h"

namespace cb::testing {
namespace {

class TorchZoo : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchZoo, ParameterCountEqualsTheSpecsAndTheLogitsAreFinite) {
  const auto spec = model::build_zoo_model(GetParam(), 10);
  const auto weights = model::initial_weights(spec, 3);
  const auto trainer = torch_backend().create_trainer(cpu_config(spec, weights));
  EXPECT_EQ(trainer->parameter_count(), model::parameter_count(spec));
  EXPECT_EQ(trainer->parameter_count(), weights.trainable_count());
  const auto logits = trainer->logits(random_batch(spec, 2, 4));
  ASSERT_EQ(logits.size(), 20u);
  for (float v : logits) EXPECT_TRUE(std::isfinite(v));
}

INSTANTIATE_TEST_SUITE_P(Zoo, TorchZoo, ::testing::ValuesIn(model::zoo_names()),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (auto& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

TEST(TorchZooCounts, Resnet20HasTheOptionACount) {
  const auto spec = model::build_zoo_model("resnet20", 10);
  const auto trainer =
      torch_backend().create_trainer(cpu_config(spec, model::initial_weights(spec, 1)));
  EXPECT_EQ(trainer->parameter_count(), 269722);
}

}  // namespace
}  // namespace cb::testing
