#include "results/mfu.h"

#include <fmt/format.h>

namespace cb::results {

nlohmann::json model_flop_utilization(double images_per_s, double forward_flops_per_image,
                                      const std::string& device, const nlohmann::json& peak) {
  if (device != "cpu") {
    return {{"unavailable", fmt::format("the peak of {} is not measured (CPU only in this build)",
                                        device)}};
  }
  if (!peak.is_object() || peak.value("cpu_fp32_flops_per_s", 0.0) <= 0) {
    const std::string why = peak.is_object() ? peak.value("unavailable", std::string()) : "";
    return {{"unavailable", why.empty() ? "no measured CPU peak" : "no CPU peak: " + why}};
  }
  if (images_per_s <= 0 || forward_flops_per_image <= 0) {
    return {{"unavailable", "no throughput recorded"}};
  }
  const double training_flops = 3.0 * forward_flops_per_image;
  const double achieved = images_per_s * training_flops;
  const double peak_flops = peak["cpu_fp32_flops_per_s"].get<double>();
  return {{"convention", "3 × forward FLOPs per image (a multiply-add counts 2), fp32 peak"},
          {"training_flops_per_image", training_flops},
          {"achieved_flops_per_s", achieved},
          {"peak_flops_per_s", peak_flops},
          {"mfu", achieved / peak_flops}};
}

nlohmann::json model_flop_utilization(const nlohmann::json& config, const nlohmann::json& environment,
                                      double images_per_s) {
  const auto info = config.is_object() ? config.value("model_info", nlohmann::json::object())
                                       : nlohmann::json::object();
  const double forward = info.is_object() ? info.value("mflops_per_image", 0.0) * 1e6 : 0.0;
  std::string device = "cpu";
  if (config.is_object() && config.contains("recipe") && config["recipe"].is_object()) {
    const auto& hw = config["recipe"].value("hardware", nlohmann::json::object());
    if (hw.is_object()) device = hw.value("device", std::string("cpu"));
  }
  const auto peak = environment.is_object() ? environment.value("peak", nlohmann::json::object())
                                            : nlohmann::json::object();
  return model_flop_utilization(images_per_s, forward, device, peak);
}

}  // namespace cb::results
