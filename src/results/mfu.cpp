#include "results/mfu.h"

#include <fmt/format.h>

namespace cb::results {
namespace {

// The peak the trial is held to, in FLOP/s, or why there is none.
struct Peak {
  double flops_per_s = 0;
  std::string dtype;  // "fp32" on the CPU, the device product's dtype on a GPU
  std::string unavailable;
};

Peak cpu_peak_of(const nlohmann::json& peak) {
  if (!peak.is_object() || peak.value("cpu_fp32_flops_per_s", 0.0) <= 0) {
    const std::string why = peak.is_object() ? peak.value("unavailable", std::string()) : "";
    return {0, "", why.empty() ? "no measured CPU peak" : "no CPU peak: " + why};
  }
  return {peak["cpu_fp32_flops_per_s"].get<double>(), "fp32", ""};
}

// The device record (trial/peak.h's device_peak) when it is this device's at this precision.
Peak device_peak_of(const nlohmann::json& peak, const std::string& device, const std::string& precision,
                    int devices) {
  const nlohmann::json d = peak.is_object() ? peak.value("device", nlohmann::json()) : nlohmann::json();
  if (!d.is_object()) return {0, "", fmt::format("the peak of {} was not measured", device)};
  if (d.value("device", "") != device || d.value("precision", "") != precision) {
    return {0, "", fmt::format("the measured peak is {} at precision {}, not {} at {}",
                               d.value("device", "?"), d.value("precision", "?"), device, precision)};
  }
  if (d.value("flops_per_s", 0.0) <= 0) {
    return {0, "", fmt::format("no peak of {}: {}", device, d.value("unavailable", std::string("not measured")))};
  }
  return {devices * d["flops_per_s"].get<double>(), d.value("dtype", precision), ""};
}

}  // namespace

nlohmann::json model_flop_utilization(double images_per_s, double forward_flops_per_image,
                                      const std::string& device, const std::string& precision,
                                      const nlohmann::json& peak, int devices) {
  const Peak p = device == "cpu" ? cpu_peak_of(peak) : device_peak_of(peak, device, precision, devices);
  if (!p.unavailable.empty()) return {{"unavailable", p.unavailable}};
  if (images_per_s <= 0 || forward_flops_per_image <= 0) {
    return {{"unavailable", "no throughput recorded"}};
  }
  const double training_flops = 3.0 * forward_flops_per_image;
  const double achieved = images_per_s * training_flops;
  return {{"convention", fmt::format("3 × forward FLOPs per image (a multiply-add counts 2), {} peak{}",
                                     p.dtype, devices > 1 && device != "cpu"
                                                  ? fmt::format(" × {} devices", devices)
                                                  : "")},
          {"training_flops_per_image", training_flops},
          {"achieved_flops_per_s", achieved},
          {"peak_flops_per_s", p.flops_per_s},
          {"mfu", achieved / p.flops_per_s}};
}

nlohmann::json model_flop_utilization(const nlohmann::json& config, const nlohmann::json& environment,
                                      double images_per_s) {
  const auto info = config.is_object() ? config.value("model_info", nlohmann::json::object())
                                       : nlohmann::json::object();
  const double forward = info.is_object() ? info.value("mflops_per_image", 0.0) * 1e6 : 0.0;
  std::string device = "cpu", precision = "off";
  if (config.is_object() && config.contains("recipe") && config["recipe"].is_object()) {
    const auto& hw = config["recipe"].value("hardware", nlohmann::json::object());
    if (hw.is_object()) {
      device = hw.value("device", std::string("cpu"));
      precision = hw.value("precision", std::string("off"));
    }
  }
  const int world = config.is_object() ? config.value("world_size", 1) : 1;
  const auto peak = environment.is_object() ? environment.value("peak", nlohmann::json::object())
                                            : nlohmann::json::object();
  return model_flop_utilization(images_per_s, forward, device, precision, peak, world);
}

}  // namespace cb::results
