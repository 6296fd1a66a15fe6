#include "backends/dlib/recipe_optimizer.h"

#include <fmt/format.h>

#include <cmath>

#include "core/error.h"

namespace cb::backends::dlib_backend {

RecipeOptimizer::RecipeOptimizer(const OptimizerConfig& config) : config_(config) {
  auto require = [](bool ok, const char* name, double value, const char* expected) {
    if (!ok) {
      throw InputError(fmt::format("optimizer.{} = {}: expected {}", name, value, expected));
    }
  };
  require(config.momentum >= 0.0 && config.momentum < 1.0, "momentum", config.momentum,
          "a value in [0, 1)");
  require(config.weight_decay >= 0.0, "weight_decay", config.weight_decay, "a value >= 0");
  require(config.label_smoothing >= 0.0 && config.label_smoothing < 1.0, "label_smoothing",
          config.label_smoothing, "a value in [0, 1)");
  if (config.kind == OptimizerConfig::Kind::adamw) {
    require(config.beta1 >= 0.0 && config.beta1 < 1.0, "beta1", config.beta1, "a value in [0, 1)");
    require(config.beta2 >= 0.0 && config.beta2 < 1.0, "beta2", config.beta2, "a value in [0, 1)");
    require(config.eps > 0.0, "eps", config.eps, "a value > 0");
  } else if (config.nesterov && config.momentum == 0.0) {
    throw InputError("optimizer.nesterov = true needs optimizer.momentum > 0 (as PyTorch's SGD)");
  }
}

void RecipeOptimizer::update(float* weights, const float* grad, std::size_t n,
                             ParameterState& state) const {
  // float arithmetic in PyTorch's order, so that both frameworks round the same way.
  const auto lr = static_cast<float>(lr_);
  const auto wd = static_cast<float>(config_.weight_decay);
  if (config_.kind == OptimizerConfig::Kind::sgd) {
    const auto mu = static_cast<float>(config_.momentum);
    if (mu == 0.0f) {
      for (std::size_t i = 0; i < n; ++i) weights[i] -= lr * (grad[i] + wd * weights[i]);
      return;
    }
    const bool first = state.momentum.empty();
    if (first) state.momentum.assign(n, 0.0f);
    float* v = state.momentum.data();
    for (std::size_t i = 0; i < n; ++i) {
      const float g = grad[i] + wd * weights[i];
      v[i] = first ? g : mu * v[i] + g;  // PyTorch starts the buffer at g (no dampening)
      const float step = config_.nesterov ? g + mu * v[i] : v[i];
      weights[i] -= lr * step;
    }
    return;
  }
  // AdamW as PyTorch computes it: decoupled decay, then Adam with bias corrections.
  if (state.momentum.empty()) {
    state.momentum.assign(n, 0.0f);
    state.second.assign(n, 0.0f);
  }
  const auto b1 = static_cast<float>(config_.beta1);
  const auto b2 = static_cast<float>(config_.beta2);
  const double t = static_cast<double>(step_ < 1 ? 1 : step_);
  const double correction1 = 1.0 - std::pow(config_.beta1, t);
  const double correction2_sqrt = std::sqrt(1.0 - std::pow(config_.beta2, t));
  const auto step_size = static_cast<float>(lr_ / correction1);
  const auto eps = static_cast<float>(config_.eps);
  const auto decay = 1.0f - lr * wd;
  float* m = state.momentum.data();
  float* s = state.second.data();
  for (std::size_t i = 0; i < n; ++i) {
    weights[i] *= decay;
    m[i] = b1 * m[i] + (1.0f - b1) * grad[i];
    s[i] = b2 * s[i] + (1.0f - b2) * grad[i] * grad[i];
    const float denom = std::sqrt(s[i]) / static_cast<float>(correction2_sqrt) + eps;
    weights[i] -= step_size * m[i] / denom;
  }
}

}  // namespace cb::backends::dlib_backend
