// backend.h's optimizers (SGD with momentum and Nesterov, AdamW) on LibTorch tensors, op for op
// as PyTorch 1.13's torch.optim runs them, and the same update skipped on the device when a
// mixed-precision step overflowed (no host read of the overflow flag).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "backends/backend.h"

namespace cb::backends::torch_backend {

class SpecOptimizer {
 public:
  // State (zeros) for each of `params`, on their devices.
  SpecOptimizer(const OptimizerConfig& config, const std::vector<at::Tensor>& params);

  const OptimizerConfig& config() const { return config_; }

  // One update of every parameter that has a gradient, with learning rate `lr`.
  void step(std::vector<at::Tensor>& params, double lr);

  // The same update unless `found_inf` (GradScaler's one-element float flag, on the parameters'
  // device) is nonzero, decided by the device's own ops: the host never reads the flag. A skipped
  // step leaves the parameters, the optimizer state and the step count as they were, whatever
  // the gradients hold (inf, NaN), as GradScaler skipping optimizer.step does; an applied one
  // equals step() up to rounding.
  void step_unless(std::vector<at::Tensor>& params, double lr, const at::Tensor& found_inf);

  // Updates applied so far (skipped ones not counted); one host read after step_unless.
  std::int64_t steps();
  void set_steps(std::int64_t steps);

  // Parameter i's state tensors with their checkpoint suffixes: "momentum_buffer" (SGD), or
  // "exp_avg" and "exp_avg_sq" (AdamW).
  std::vector<std::pair<const char*, at::Tensor*>> state(std::size_t i);

 private:
  void sgd(at::Tensor& p, at::Tensor g, std::size_t i, double lr);
  void adamw(at::Tensor& p, const at::Tensor& g, std::size_t i, double lr, double t);

  OptimizerConfig config_;
  std::vector<at::Tensor> momentum_, exp_avg_, exp_avg_sq_;
  std::int64_t steps_ = 0;        // applied by step(), and by step_unless() up to the last read
  at::Tensor device_steps_;       // applied by step_unless() since the last read (float64, on the device)
};

}  // namespace cb::backends::torch_backend
