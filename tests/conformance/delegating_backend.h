// Test backends that delegate to a real one (torch): an exact clone, and one with the wrong
// momentum, to show that the conformance checks and parity find what they must.
#pragma once

#include "backends/backend.h"

namespace cb::conformance {

class DelegatingBackend : public backends::Backend {
 public:
  DelegatingBackend(const backends::Backend& real, std::string name, double momentum_override = -1)
      : real_(real), name_(std::move(name)), momentum_(momentum_override) {}
  backends::BackendInfo info() const override {
    auto info = real_.info();
    info.name = name_;
    return info;
  }
  std::unique_ptr<backends::Trainer> create_trainer(const backends::TrainerConfig& config) const override {
    auto changed = config;
    if (momentum_ >= 0) changed.optimizer.momentum = momentum_;
    return real_.create_trainer(changed);
  }

 private:
  const backends::Backend& real_;
  std::string name_;
  double momentum_;
};

// The real backend with momentum 0.5 instead of the recipe's 0.9: everything but the optimizer
// step agrees with it.
class WrongMomentumBackend final : public DelegatingBackend {
 public:
  explicit WrongMomentumBackend(const backends::Backend& real) : DelegatingBackend(real, "wrongmomentum", 0.5) {}
};

}  // namespace cb::conformance
