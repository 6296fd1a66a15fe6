// Model FLOP utilization from a trial's throughput, its model's forward FLOPs and the peak.
#include "results/mfu.h"

#include <gtest/gtest.h>

namespace cb {
namespace {

const nlohmann::json kPeak = {{"cpu_fp32_flops_per_s", 100e9}};

TEST(ModelFlopUtilization, IsThroughputTimesThreeForwardPassesOverThePeak) {
  const auto m = results::model_flop_utilization(500.0, 40e6, "cpu", "off", kPeak);
  ASSERT_TRUE(m.contains("mfu")) << m.dump();
  EXPECT_DOUBLE_EQ(m["training_flops_per_image"].get<double>(), 120e6);
  EXPECT_DOUBLE_EQ(m["achieved_flops_per_s"].get<double>(), 60e9);
  EXPECT_DOUBLE_EQ(m["mfu"].get<double>(), 0.6);
}

TEST(ModelFlopUtilization, IsUnavailableWithTheReasonOnAGpuWithoutAPeakOrWithoutThroughput) {
  EXPECT_NE(results::model_flop_utilization(500, 40e6, "cuda:0", "off", kPeak)["unavailable"]
                .get<std::string>()
                .find("cuda:0"),
            std::string::npos);
  const auto no_peak = results::model_flop_utilization(
      500, 40e6, "cpu", "off", {{"unavailable", "libblas.so.3 not found"}});
  EXPECT_EQ(no_peak["unavailable"], "no CPU peak: libblas.so.3 not found");
  EXPECT_FALSE(results::model_flop_utilization(0, 40e6, "cpu", "off", kPeak).contains("mfu"));
}

// A GPU trial is held to its device's measured product (trial/peak.h's device_peak) at its own
// precision, times the GPUs of a data-parallel run.
TEST(ModelFlopUtilization, OnAGpuUsesThatDevicesPeakAtTheTrialsPrecision) {
  nlohmann::json peak = kPeak;
  peak["device"] = {{"device", "cuda:0"}, {"precision", "bf16"}, {"flops_per_s", 600e12},
                    {"dtype", "bfloat16"}};
  const auto m = results::model_flop_utilization(50000, 40e6, "cuda:0", "bf16", peak);
  ASSERT_TRUE(m.contains("mfu")) << m.dump();
  EXPECT_DOUBLE_EQ(m["peak_flops_per_s"].get<double>(), 600e12);
  EXPECT_DOUBLE_EQ(m["mfu"].get<double>(), 50000 * 120e6 / 600e12);
  EXPECT_NE(m["convention"].get<std::string>().find("bfloat16"), std::string::npos);
  const auto two = results::model_flop_utilization(50000, 40e6, "cuda:0", "bf16", peak, 2);
  EXPECT_DOUBLE_EQ(two["peak_flops_per_s"].get<double>(), 1200e12);

  // Another precision or another device is not this record's: n/a, saying which was measured.
  const auto fp32 = results::model_flop_utilization(50000, 40e6, "cuda:0", "off", peak);
  EXPECT_NE(fp32.value("unavailable", "").find("cuda:0 at precision bf16"), std::string::npos)
      << fp32.dump();
  EXPECT_TRUE(results::model_flop_utilization(50000, 40e6, "cuda:1", "bf16", peak).contains("unavailable"));
  peak["device"] = {{"device", "cuda:0"}, {"precision", "bf16"}, {"unavailable", "no CUDA"}};
  EXPECT_EQ(results::model_flop_utilization(50000, 40e6, "cuda:0", "bf16", peak)["unavailable"],
            "no peak of cuda:0: no CUDA");
}

TEST(ModelFlopUtilization, ReadsARecordedTrialsConfigAndEnvironment) {
  const nlohmann::json config = {{"model_info", {{"mflops_per_image", 40.0}}},
                                 {"recipe", {{"hardware", {{"device", "cpu"}}}}}};
  const auto m = results::model_flop_utilization(config, {{"peak", kPeak}}, 500.0);
  EXPECT_DOUBLE_EQ(m.value("mfu", 0.0), 0.6);
  EXPECT_TRUE(results::model_flop_utilization(config, nlohmann::json::object(), 500.0)
                  .contains("unavailable"));

  const nlohmann::json gpu_config = {
      {"model_info", {{"mflops_per_image", 40.0}}},
      {"world_size", 2},
      {"recipe", {{"hardware", {{"device", "cuda:0"}, {"precision", "fp16"}}}}}};
  nlohmann::json peak = kPeak;
  peak["device"] = {{"device", "cuda:0"}, {"precision", "fp16"}, {"flops_per_s", 500e12}};
  const auto g = results::model_flop_utilization(gpu_config, {{"peak", peak}}, 50000.0);
  EXPECT_DOUBLE_EQ(g.value("peak_flops_per_s", 0.0), 1000e12) << g.dump();
}

}  // namespace
}  // namespace cb
