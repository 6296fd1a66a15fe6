#include "backends/torch/optimizer.h"

#include <cmath>

#include "backends/torch/optimizer_on_vectors.h"
#include "core/error.h"

namespace cb::backends::torch_backend {

SpecOptimizer::SpecOptimizer(const OptimizerConfig& config, const std::vector<at::Tensor>& params)
    : config_(config) {
  at::NoGradGuard no_grad;
  for (const auto& p : params) {
    if (config_.kind == OptimizerConfig::Kind::sgd) {
      momentum_.push_back(at::zeros_like(p).detach());
    } else {
      exp_avg_.push_back(at::zeros_like(p).detach());
      exp_avg_sq_.push_back(at::zeros_like(p).detach());
    }
  }
}

// The update rules of backend.h's OptimizerConfig, op for op as PyTorch 1.13 runs them.
void SpecOptimizer::step(std::vector<at::Tensor>& params, double lr) {
  at::NoGradGuard no_grad;
  const std::int64_t t = steps() + 1;
  set_steps(t);
  for (std::size_t i = 0; i < params.size(); ++i) {
    at::Tensor& p = params[i];
    at::Tensor g = p.grad();
    if (!g.defined()) continue;
    if (config_.kind == OptimizerConfig::Kind::sgd) {
      sgd(p, g, i, lr);
    } else {
      adamw(p, g, i, lr, static_cast<double>(t));
    }
  }
}

void SpecOptimizer::sgd(at::Tensor& p, at::Tensor g, std::size_t i, double lr) {
  if (config_.weight_decay != 0) g = g.add(p, config_.weight_decay);
  if (config_.momentum != 0) {
    momentum_[i].mul_(config_.momentum).add_(g);
    g = config_.nesterov ? g.add(momentum_[i], config_.momentum) : momentum_[i];
  }
  p.add_(g, -lr);
}

// AdamW's decoupled decay, moment updates and bias-corrected step (t: this step's count).
void SpecOptimizer::adamw(at::Tensor& p, const at::Tensor& g, std::size_t i, double lr, double t) {
  p.mul_(1 - lr * config_.weight_decay);
  exp_avg_[i].mul_(config_.beta1).add_(g, 1 - config_.beta1);
  exp_avg_sq_[i].mul_(config_.beta2).addcmul_(g, g, 1 - config_.beta2);
  const double correction1 = 1 - std::pow(config_.beta1, t);
  const double correction2 = 1 - std::pow(config_.beta2, t);
  const at::Tensor denom = (exp_avg_sq_[i].sqrt() / std::sqrt(correction2)).add_(config_.eps);
  p.addcdiv_(exp_avg_[i], denom, -lr / correction1);
}

// Every coefficient becomes a one-element tensor chosen by the flag: 1 for the multipliers and 0
// for the increments when skipped, so that state · 1 + 0 · (anything finite) leaves the state
// exactly as it was. Gradients (after weight decay) are zeroed where the flag is set, which
// removes inf and NaN.
void SpecOptimizer::step_unless(std::vector<at::Tensor>& params, double lr,
                                const at::Tensor& found_inf) {
  at::NoGradGuard no_grad;
  const at::Tensor skip = found_inf.ne(0);
  const at::Tensor found = skip.to(at::kFloat);  // exactly 0 or 1
  const at::Tensor ok = 1 - found;
  // `applied` when the step counts, `skipped` when it does not; exact since found ∈ {0, 1}.
  const auto either = [&](double applied, double skipped) { return found * skipped + ok * applied; };
  if (!device_steps_.defined()) device_steps_ = at::zeros({1}, found.options().dtype(at::kDouble));
  device_steps_.add_(ok);
  const double wd = config_.weight_decay;
  if (config_.kind == OptimizerConfig::Kind::sgd) {
    const at::Tensor momentum = either(config_.momentum, 1.0), neg_lr = ok * -lr;
    for (std::size_t i = 0; i < params.size(); ++i) {
      at::Tensor& p = params[i];
      at::Tensor g = p.grad();
      if (!g.defined()) continue;
      if (wd != 0) g = g.add(p, wd);
      g = g.masked_fill(skip, 0);
      if (config_.momentum != 0) {
        momentum_[i].mul_(momentum).add_(g);
        g = config_.nesterov ? g.add(momentum_[i], config_.momentum) : momentum_[i];
      }
      p.addcmul_(g, neg_lr);
    }
    return;
  }
  // The bias corrections of the step count on the device; a skipped first step would divide by
  // 1 − β⁰ = 0, so the count is at least 1 there (its step size is 0 anyway).
  const at::Tensor t = (device_steps_ + static_cast<double>(steps_)).clamp_min(1);
  const at::Tensor correction1 = 1 - at::pow(config_.beta1, t);
  const at::Tensor sqrt_correction2 = (1 - at::pow(config_.beta2, t)).sqrt().to(at::kFloat);
  const at::Tensor step_size = (ok.to(at::kDouble) * (-lr / correction1)).to(at::kFloat);
  const at::Tensor decay = either(1 - lr * wd, 1.0), beta1 = either(config_.beta1, 1.0),
                   beta2 = either(config_.beta2, 1.0);
  for (std::size_t i = 0; i < params.size(); ++i) {
    at::Tensor& p = params[i];
    if (!p.grad().defined()) continue;
    const at::Tensor g = p.grad().masked_fill(skip, 0);
    p.mul_(decay);
    exp_avg_[i].mul_(beta1).add_(g, 1 - config_.beta1);
    exp_avg_sq_[i].mul_(beta2).addcmul_(g, g, 1 - config_.beta2);
    const at::Tensor denom = (exp_avg_sq_[i].sqrt() / sqrt_correction2).add_(config_.eps);
    p.addcmul_(exp_avg_[i] / denom, step_size);
  }
}

std::int64_t SpecOptimizer::steps() {
  if (device_steps_.defined()) {
    steps_ += std::llround(device_steps_.item<double>());
    device_steps_ = at::Tensor();
  }
  return steps_;
}

void SpecOptimizer::set_steps(std::int64_t steps) {
  steps_ = steps;
  device_steps_ = at::Tensor();
}

std::vector<std::pair<const char*, at::Tensor*>> SpecOptimizer::state(std::size_t i) {
  if (config_.kind == OptimizerConfig::Kind::sgd) return {{"momentum_buffer", &momentum_.at(i)}};
  return {{"exp_avg", &exp_avg_.at(i)}, {"exp_avg_sq", &exp_avg_sq_.at(i)}};
}

}  // namespace cb::backends::torch_backend

// ---- OptimizerOnVectors ----

namespace cb::backends::torch_backend {
namespace {

at::Tensor to_tensor(const std::vector<float>& values) {
  return at::tensor(at::ArrayRef<float>(values), at::kFloat);
}

std::vector<float> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kCPU, at::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

}  // namespace

struct OptimizerOnVectors::Impl {
  std::vector<at::Tensor> params;
  SpecOptimizer optimizer;

  Impl(const OptimizerConfig& config, std::vector<at::Tensor> p)
      : params(std::move(p)), optimizer(config, params) {}

  void set_gradients(const Tensors& grads) {
    if (grads.size() != params.size()) throw CheckFailed("OptimizerOnVectors: one gradient per parameter");
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (static_cast<std::int64_t>(grads[i].size()) != params[i].numel()) {
        throw CheckFailed("OptimizerOnVectors: a gradient's size differs from its parameter's");
      }
      params[i].mutable_grad() = to_tensor(grads[i]);
    }
  }
};

OptimizerOnVectors::OptimizerOnVectors(const OptimizerConfig& config, const Tensors& params) {
  std::vector<at::Tensor> tensors;
  for (const auto& p : params) tensors.push_back(to_tensor(p).requires_grad_(true));
  impl_ = std::make_unique<Impl>(config, std::move(tensors));
}

OptimizerOnVectors::~OptimizerOnVectors() = default;

void OptimizerOnVectors::step(const Tensors& grads, double lr) {
  impl_->set_gradients(grads);
  impl_->optimizer.step(impl_->params, lr);
}

void OptimizerOnVectors::step_unless(const Tensors& grads, double lr, bool found_inf) {
  impl_->set_gradients(grads);
  impl_->optimizer.step_unless(impl_->params, lr, at::full({1}, found_inf ? 1.0 : 0.0, at::kFloat));
}

OptimizerOnVectors::Tensors OptimizerOnVectors::params() const {
  Tensors out;
  for (const auto& p : impl_->params) out.push_back(to_vector(p));
  return out;
}

OptimizerOnVectors::Tensors OptimizerOnVectors::state() const {
  Tensors out;
  for (std::size_t i = 0; i < impl_->params.size(); ++i) {
    for (const auto& entry : impl_->optimizer.state(i)) out.push_back(to_vector(*entry.second));
  }
  return out;
}

std::int64_t OptimizerOnVectors::steps() { return impl_->optimizer.steps(); }

}  // namespace cb::backends::torch_backend
