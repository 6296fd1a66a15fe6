// The torch backend's optimizer (optimizer.h) on plain float vectors, for tests that include no
// LibTorch header: each call copies the vectors into CPU tensors, runs SpecOptimizer, and copies
// back. The fp16 trainer's skip-on-the-device path (step_unless) runs only with a CUDA LibTorch,
// so this is where its masked update is checked.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "backends/backend.h"

namespace cb::backends::torch_backend {

class OptimizerOnVectors {
 public:
  using Tensors = std::vector<std::vector<float>>;

  OptimizerOnVectors(const OptimizerConfig& config, const Tensors& params);
  ~OptimizerOnVectors();
  OptimizerOnVectors(const OptimizerOnVectors&) = delete;
  OptimizerOnVectors& operator=(const OptimizerOnVectors&) = delete;

  // SpecOptimizer::step with these gradients (one per parameter, same sizes).
  void step(const Tensors& grads, double lr);
  // SpecOptimizer::step_unless, the flag handed over as a one-element tensor (1 when found_inf).
  void step_unless(const Tensors& grads, double lr, bool found_inf);

  Tensors params() const;
  Tensors state() const;  // every state tensor, parameter by parameter (SpecOptimizer::state)
  std::int64_t steps();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cb::backends::torch_backend
