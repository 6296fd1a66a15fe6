#include "backends/torch/spec_network.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace cb::backends::torch_backend {
namespace {

using model::Layer;
using model::Op;

// Ops whose backward does not read their output, so a following ReLU or add may overwrite it.
bool output_reusable(Op op) {
  switch (op) {
    case Op::conv2d:
    case Op::batch_norm:
    case Op::linear:
    case Op::add:
    case Op::scale:
    case Op::avg_pool:
    case Op::global_avg_pool:
    case Op::pad_channels:
      return true;
    default:
      return false;
  }
}

std::string shape_text(at::IntArrayRef shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

}  // namespace

SpecNetwork::SpecNetwork(std::shared_ptr<const model::AnalysedModel> model,
                         at::TensorOptions options)
    : model_(std::move(model)), spec_(model_->spec) {
  layer_tensors_.resize(spec_.layers.size());
  consumers_.assign(spec_.layers.size(), 0);
  for (std::size_t i = 1; i < spec_.layers.size(); ++i) {
    const model::LayerAnalysis& layer = model_->layers[i];
    for (int in : layer.inputs) ++consumers_[static_cast<std::size_t>(in)];
    LayerTensors& t = layer_tensors_[i];
    for (const auto& tensor : layer.tensors) {
      const int index = add_tensor(tensor, options);
      switch (tensor.role) {
        case model::TensorRole::weight: t.weight = index; break;
        case model::TensorRole::bias: t.bias = index; break;
        case model::TensorRole::running_mean: t.running_mean = index; break;
        case model::TensorRole::running_var: t.running_var = index; break;
      }
    }
  }
}

int SpecNetwork::add_tensor(const model::ParameterShape& tensor, at::TensorOptions options) {
  at::Tensor value = at::zeros(tensor.shape, options);
  if (tensor.trainable) value.requires_grad_(true);
  tensors_.push_back({tensor.name, tensor.trainable, value});
  return static_cast<int>(tensors_.size()) - 1;
}

void SpecNetwork::load(const model::Weights& weights) {
  std::vector<const model::NamedTensor*> sources(tensors_.size(), nullptr);
  for (const auto& given : weights.tensors) {
    const auto it = std::find_if(tensors_.begin(), tensors_.end(),
                                 [&](const NamedParameter& p) { return p.name == given.name; });
    if (it == tensors_.end()) {
      throw InputError(fmt::format("weights: tensor '{}' is not part of model '{}'", given.name,
                                   spec_.name));
    }
    const auto index = static_cast<std::size_t>(it - tensors_.begin());
    if (sources[index]) {
      throw InputError(fmt::format("weights: tensor '{}' is given twice", given.name));
    }
    if (at::IntArrayRef(given.tensor.shape) != it->value.sizes()) {
      throw InputError(fmt::format("weights: tensor '{}' has shape {}, model '{}' expects {}",
                                   given.name, shape_text(given.tensor.shape), spec_.name,
                                   shape_text(it->value.sizes())));
    }
    if (static_cast<std::int64_t>(given.tensor.values.size()) != given.tensor.numel()) {
      throw InputError(fmt::format("weights: tensor '{}' holds {} values for shape {}", given.name,
                                   given.tensor.values.size(), shape_text(given.tensor.shape)));
    }
    if (given.trainable != it->trainable) {
      throw InputError(fmt::format("weights: tensor '{}' is marked {}, model '{}' has it as {}",
                                   given.name, given.trainable ? "trainable" : "a buffer",
                                   spec_.name, it->trainable ? "trainable" : "a buffer"));
    }
    sources[index] = &given;
  }
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    if (!sources[i]) {
      throw InputError(fmt::format("weights: tensor '{}' of model '{}' is missing",
                                   tensors_[i].name, spec_.name));
    }
  }
  at::NoGradGuard no_grad;
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    const auto& src = sources[i]->tensor;
    // from_blob does not copy; copy_ below does, converting device and memory format.
    const at::Tensor host = at::from_blob(const_cast<float*>(src.values.data()), src.shape,
                                          at::TensorOptions().dtype(at::kFloat));
    tensors_[i].value.copy_(host);
  }
}

model::Weights SpecNetwork::save() const {
  model::Weights out;
  out.tensors.reserve(tensors_.size());
  for (const auto& p : tensors_) {
    const at::Tensor host = p.value.detach().to(at::kCPU, at::kFloat).contiguous();
    model::NamedTensor t;
    t.name = p.name;
    t.trainable = p.trainable;
    t.tensor.shape.assign(host.sizes().begin(), host.sizes().end());
    t.tensor.values.resize(static_cast<std::size_t>(host.numel()));
    std::memcpy(t.tensor.values.data(), host.data_ptr<float>(), t.tensor.values.size() * sizeof(float));
    out.tensors.push_back(std::move(t));
  }
  return out;
}

void SpecNetwork::set_channels_last(bool channels_last) {
  at::NoGradGuard no_grad;
  const auto format = channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  for (auto& p : tensors_) {
    if (p.value.dim() != 4) continue;
    p.value = p.value.contiguous(format).detach().requires_grad_(p.trainable);
  }
}

std::vector<at::Tensor> SpecNetwork::trainable() const {
  std::vector<at::Tensor> out;
  for (const auto& p : tensors_) {
    if (p.trainable) out.push_back(p.value);
  }
  return out;
}

std::int64_t SpecNetwork::trainable_count() const {
  std::int64_t n = 0;
  for (const auto& p : tensors_) {
    if (p.trainable) n += p.value.numel();
  }
  return n;
}

at::Tensor SpecNetwork::param(int index) const {
  return index < 0 ? at::Tensor() : tensors_[static_cast<std::size_t>(index)].value;
}

at::Tensor SpecNetwork::forward(const at::Tensor& input, bool training) const {
  std::vector<at::Tensor> outs(spec_.layers.size());
  std::vector<int> remaining = consumers_;
  outs[0] = input;
  for (std::size_t i = 1; i < spec_.layers.size(); ++i) {
    const std::vector<int>& inputs = model_->layers[i].inputs;
    const auto from = static_cast<std::size_t>(inputs[0]);
    // The only reader of an output whose backward does not need it may overwrite it in place.
    const bool in_place = consumers_[from] == 1 && output_reusable(spec_.layers[from].op);
    at::Tensor y = forward_layer(i, outs[from], outs, in_place, training);
    outs[i] = std::move(y);
    // Drop outputs no later layer reads (autograd keeps what backward needs).
    for (int in : inputs) {
      if (--remaining[static_cast<std::size_t>(in)] == 0) outs[static_cast<std::size_t>(in)].reset();
    }
  }
  return outs.back().dim() > 2 ? outs.back().flatten(1) : outs.back();
}

at::Tensor SpecNetwork::forward_layer(std::size_t i, const at::Tensor& x,
                                      std::vector<at::Tensor>& outs, bool in_place,
                                      bool training) const {
  const Layer& layer = spec_.layers[i];
  const LayerTensors& t = layer_tensors_[i];
  const auto from = static_cast<std::size_t>(model_->layers[i].inputs[0]);
  switch (layer.op) {
    case Op::input:
      break;
    case Op::conv2d:
      return at::conv2d(x, param(t.weight), param(t.bias), {layer.stride, layer.stride},
                        {layer.padding, layer.padding}, {1, 1}, layer.groups);
    case Op::batch_norm:
      return at::batch_norm(x, param(t.weight), param(t.bias), param(t.running_mean),
                            param(t.running_var), training, layer.momentum, layer.eps,
                            /*cudnn_enabled=*/true);
    case Op::relu:
      return in_place ? at::relu_(outs[from]) : at::relu(x);
    case Op::gelu:
      return at::gelu(x);
    case Op::max_pool:
      return at::max_pool2d(x, {layer.kernel, layer.kernel}, {layer.stride, layer.stride},
                            {layer.padding, layer.padding});
    case Op::avg_pool:
      return at::avg_pool2d(x, {layer.kernel, layer.kernel}, {layer.stride, layer.stride},
                            {layer.padding, layer.padding}, /*ceil_mode=*/false,
                            /*count_include_pad=*/true);
    case Op::global_avg_pool:
      return at::adaptive_avg_pool2d(x, {1, 1});
    case Op::flatten:
      return x.flatten(1);
    case Op::linear:
      return at::linear(x.dim() > 2 ? x.flatten(1) : x, param(t.weight), param(t.bias));
    case Op::dropout:
      return at::dropout(x, layer.p, training);
    case Op::add: {
      const at::Tensor& other = outs[static_cast<std::size_t>(model_->layers[i].inputs[1])];
      return in_place ? outs[from].add_(other) : x + other;
    }
    case Op::pad_channels: {
      // The input's channels first, then the zero channels (spec.h's definition).
      const std::int64_t extra = layer.out_channels - x.size(1);
      return at::constant_pad_nd(x, {0, 0, 0, 0, 0, extra}, 0.0);
    }
    case Op::subsample:
      return x.slice(2, 0, c10::nullopt, layer.stride).slice(3, 0, c10::nullopt, layer.stride);
    case Op::scale:
      return x * layer.scale;
  }
  return {};
}

}  // namespace cb::backends::torch_backend
