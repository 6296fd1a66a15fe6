// Model FLOP utilization (MFU): the model FLOP/s a trial achieved (training throughput × 3 × the
// forward pass's FLOPs per image, the convention of PaLM and MLPerf) over the machine's measured
// peak (trial/peak.h). One function, so that result.json and the report agree.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace cb::results {

// {"convention", "training_flops_per_image", "achieved_flops_per_s", "peak_flops_per_s", "mfu"}
// (mfu a fraction), or {"unavailable": reason} when no peak applies: a GPU device (its peak is
// not measured in this build), no measured CPU peak, or no throughput.
nlohmann::json model_flop_utilization(double images_per_s, double forward_flops_per_image,
                                      const std::string& device, const nlohmann::json& peak);

// The same from a recorded trial's config (model_info, recipe.hardware.device), environment
// (peak) and throughput.
nlohmann::json model_flop_utilization(const nlohmann::json& config, const nlohmann::json& environment,
                                      double images_per_s);

}  // namespace cb::results
