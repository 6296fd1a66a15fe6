// Model FLOP utilization from a trial's throughput, its model's forward FLOPs and the peak.
#include "results/mfu.h"

#include <gtest/gtest.h>

namespace cb {
namespace {

const nlohmann::json kPeak = {{"cpu_fp32_flops_per_s", 100e9}};

TEST(ModelFlopUtilization, IsThroughputTimesThreeForwardPassesOverThePeak) {
  const auto m = results::model_flop_utilization(500.0, 40e6, "cpu", kPeak);
  ASSERT_TRUE(m.contains("mfu")) << m.dump();
  EXPECT_DOUBLE_EQ(m["training_flops_per_image"].get<double>(), 120e6);
  EXPECT_DOUBLE_EQ(m["achieved_flops_per_s"].get<double>(), 60e9);
  EXPECT_DOUBLE_EQ(m["mfu"].get<double>(), 0.6);
}

TEST(ModelFlopUtilization, IsUnavailableWithTheReasonOnAGpuWithoutAPeakOrWithoutThroughput) {
  EXPECT_NE(results::model_flop_utilization(500, 40e6, "cuda:0", kPeak)["unavailable"]
                .get<std::string>()
                .find("cuda:0"),
            std::string::npos);
  const auto no_peak = results::model_flop_utilization(
      500, 40e6, "cpu", {{"unavailable", "libblas.so.3 not found"}});
  EXPECT_EQ(no_peak["unavailable"], "no CPU peak: libblas.so.3 not found");
  EXPECT_FALSE(results::model_flop_utilization(0, 40e6, "cpu", kPeak).contains("mfu"));
}

TEST(ModelFlopUtilization, ReadsARecordedTrialsConfigAndEnvironment) {
  const nlohmann::json config = {{"model_info", {{"mflops_per_image", 40.0}}},
                                 {"recipe", {{"hardware", {{"device", "cpu"}}}}}};
  const auto m = results::model_flop_utilization(config, {{"peak", kPeak}}, 500.0);
  EXPECT_DOUBLE_EQ(m.value("mfu", 0.0), 0.6);
  EXPECT_TRUE(results::model_flop_utilization(config, nlohmann::json::object(), 500.0)
                  .contains("unavailable"));
}

}  // namespace
}  // namespace cb
