// Model FLOP utilization (MFU): the model FLOP/s a trial achieved (training throughput × 3 × the
// forward pass's FLOPs per image, the convention of PaLM and MLPerf) over the machine's measured
// peak (trial/peak.h). One function, so that result.json and the report agree.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace cb::results {

// {"convention", "training_flops_per_image", "achieved_flops_per_s", "peak_flops_per_s", "mfu"}
// (mfu a fraction), or {"unavailable": reason}. On the CPU the peak is `peak`'s
// "cpu_fp32_flops_per_s"; on a device it is `peak`."device" (trial/peak.h's device_peak) when that
// record is this device's at this precision ("off", "fp16", "bf16"), times `devices` (the GPUs a
// data-parallel run used, one per rank); unavailable without a matching peak or throughput.
nlohmann::json model_flop_utilization(double images_per_s, double forward_flops_per_image,
                                      const std::string& device, const std::string& precision,
                                      const nlohmann::json& peak, int devices = 1);

// The same from a recorded trial's config (model_info, recipe.hardware's device and precision,
// world_size), environment (peak) and throughput.
nlohmann::json model_flop_utilization(const nlohmann::json& config, const nlohmann::json& environment,
                                      double images_per_s);

}  // namespace cb::results
