// The recipe's optimizer (backends/backend.h's OptimizerConfig), applied element by element to
// one flat parameter tensor and its gradient. dlib's own solvers are not used: its sgd puts
// weight decay and the learning rate inside the momentum buffer and knows no Nesterov form.
// Framework-free, so tests check it against hand-computed PyTorch steps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "backends/backend.h"

namespace cb::backends::dlib_backend {

// Optimizer state of one parameter tensor (same length and layout as the tensor).
struct ParameterState {
  std::vector<float> momentum;  // sgd: v; adamw: first moment
  std::vector<float> second;    // adamw: second moment
};

class RecipeOptimizer {
 public:
  // Throws InputError when a hyper-parameter is outside its domain (naming it).
  explicit RecipeOptimizer(const OptimizerConfig& config);

  void set_learning_rate(double lr) { lr_ = lr; }
  double learning_rate() const { return lr_; }
  // Starts a new optimizer step (AdamW's bias corrections count steps).
  void begin_step() { ++step_; }
  std::int64_t steps() const { return step_; }
  // Updates `weights` in place from `grad` (both `n` values); `state` is sized on first use.
  void update(float* weights, const float* grad, std::size_t n, ParameterState& state) const;

 private:
  OptimizerConfig config_;
  double lr_ = 0.0;
  std::int64_t step_ = 0;
};

}  // namespace cb::backends::dlib_backend
