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
using model::Shape;

[[noreturn]] void refuse(const model::ModelSpec& spec, const Layer& layer, const std::string& why) {
  throw InputError(fmt::format("model '{}': layer '{}': {}", spec.name, layer.name, why));
}

// The layers a layer reads (empty inputs mean the previous layer).
std::vector<int> inputs_of(const model::ModelSpec& spec, int index) {
  const Layer& layer = spec.layers[index];
  if (layer.inputs.empty()) return {index - 1};
  for (int in : layer.inputs) {
    if (in < 0 || in >= index) {
      refuse(spec, layer, fmt::format("input index {} is not an earlier layer", in));
    }
  }
  return layer.inputs;
}

int pooled(const model::ModelSpec& spec, const Layer& layer, int size) {
  if (layer.kernel <= 0 || layer.stride <= 0 || layer.padding < 0) {
    refuse(spec, layer, "kernel and stride must be positive and padding non-negative");
  }
  const int out = (size + 2 * layer.padding - layer.kernel) / layer.stride + 1;
  if (out <= 0) refuse(spec, layer, fmt::format("kernel {} is larger than its input", layer.kernel));
  return out;
}

Shape infer_shape(const model::ModelSpec& spec, int index, const std::vector<Shape>& shapes) {
  const Layer& layer = spec.layers[index];
  const std::vector<int> in = inputs_of(spec, index);
  const std::size_t wanted = layer.op == Op::add ? 2 : 1;
  if (in.size() != wanted) {
    refuse(spec, layer, fmt::format("expects {} input(s), has {}", wanted, in.size()));
  }
  const Shape x = shapes[in[0]];
  switch (layer.op) {
    case Op::input:
      refuse(spec, layer, "only the first layer may be the input");
    case Op::conv2d: {
      if (layer.out_channels <= 0 || layer.groups <= 0 || x.c % layer.groups != 0 ||
          layer.out_channels % layer.groups != 0) {
        refuse(spec, layer, fmt::format("{} → {} channels cannot be split into {} groups", x.c,
                                        layer.out_channels, layer.groups));
      }
      return {layer.out_channels, pooled(spec, layer, x.h), pooled(spec, layer, x.w)};
    }
    case Op::max_pool:
    case Op::avg_pool:
      if (layer.padding * 2 > layer.kernel) refuse(spec, layer, "padding exceeds half the kernel");
      return {x.c, pooled(spec, layer, x.h), pooled(spec, layer, x.w)};
    case Op::batch_norm:
    case Op::relu:
    case Op::gelu:
    case Op::dropout:
    case Op::scale:
      return x;
    case Op::global_avg_pool:
      return {x.c, 1, 1};
    case Op::flatten:
      return {static_cast<int>(x.numel()), 1, 1};
    case Op::linear:
      if (x.h != 1 || x.w != 1) refuse(spec, layer, "input must be flat (flatten it first)");
      if (layer.out_features <= 0) refuse(spec, layer, "out_features must be positive");
      return {layer.out_features, 1, 1};
    case Op::add:
      if (shapes[in[1]] != x) refuse(spec, layer, "adds two inputs of different shapes");
      return x;
    case Op::pad_channels:
      if (layer.out_channels < x.c) {
        refuse(spec, layer, fmt::format("cannot pad {} channels down to {}", x.c, layer.out_channels));
      }
      return {layer.out_channels, x.h, x.w};
    case Op::subsample:
      if (layer.stride <= 0) refuse(spec, layer, "stride must be positive");
      return {x.c, (x.h + layer.stride - 1) / layer.stride, (x.w + layer.stride - 1) / layer.stride};
  }
  refuse(spec, layer, "unknown operation");
}

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

SpecNetwork::SpecNetwork(const model::ModelSpec& spec, at::TensorOptions options) : spec_(spec) {
  if (spec_.layers.empty() || spec_.layers[0].op != Op::input) {
    throw InputError(fmt::format("model '{}': the first layer must be the input", spec_.name));
  }
  std::vector<Shape> shapes(spec_.layers.size());
  shapes[0] = spec_.input;
  layer_tensors_.resize(spec_.layers.size());
  consumers_.assign(spec_.layers.size(), 0);
  for (int i = 1; i < static_cast<int>(spec_.layers.size()); ++i) {
    Layer& layer = spec_.layers[i];
    layer.inputs = inputs_of(spec_, i);
    shapes[i] = infer_shape(spec_, i, shapes);
    layer.out = shapes[i];
    for (int in : layer.inputs) ++consumers_[in];
    const Shape x = shapes[layer.inputs[0]];
    LayerTensors& t = layer_tensors_[i];
    const std::string& n = layer.name;
    if (layer.op == Op::conv2d) {
      t.weight = add_tensor(n + ".weight", true,
                            {layer.out_channels, x.c / layer.groups, layer.kernel, layer.kernel},
                            options);
      if (layer.bias) t.bias = add_tensor(n + ".bias", true, {layer.out_channels}, options);
    } else if (layer.op == Op::batch_norm) {
      if (layer.affine) {
        t.weight = add_tensor(n + ".weight", true, {x.c}, options);
        t.bias = add_tensor(n + ".bias", true, {x.c}, options);
      }
      t.running_mean = add_tensor(n + ".running_mean", false, {x.c}, options);
      t.running_var = add_tensor(n + ".running_var", false, {x.c}, options);
    } else if (layer.op == Op::linear) {
      t.weight = add_tensor(n + ".weight", true, {layer.out_features, x.c}, options);
      if (layer.bias) t.bias = add_tensor(n + ".bias", true, {layer.out_features}, options);
    }
  }
  const Shape logits = shapes.back();
  if (logits != Shape{spec_.num_classes, 1, 1}) {
    throw InputError(fmt::format("model '{}': the last layer gives {}×{}×{}, not {} logits",
                                 spec_.name, logits.c, logits.h, logits.w, spec_.num_classes));
  }
}

int SpecNetwork::add_tensor(const std::string& name, bool trainable,
                            std::vector<std::int64_t> shape, at::TensorOptions options) {
  for (const auto& t : tensors_) {
    if (t.name == name) throw InputError(fmt::format("model '{}': tensor '{}' is defined twice (layer names must be unique)", spec_.name, name));
  }
  at::Tensor value = at::zeros(shape, options);
  if (trainable) value.requires_grad_(true);
  tensors_.push_back({name, trainable, value});
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

at::Tensor SpecNetwork::forward(const at::Tensor& input, bool training) const {
  std::vector<at::Tensor> outs(spec_.layers.size());
  std::vector<int> remaining = consumers_;
  outs[0] = input;
  auto param = [&](int index) -> at::Tensor {
    return index < 0 ? at::Tensor() : tensors_[static_cast<std::size_t>(index)].value;
  };
  for (std::size_t i = 1; i < spec_.layers.size(); ++i) {
    const Layer& layer = spec_.layers[i];
    const int from = layer.inputs[0];
    const at::Tensor& x = outs[static_cast<std::size_t>(from)];
    // The only reader of an output whose backward does not need it may overwrite it in place.
    const bool in_place = consumers_[static_cast<std::size_t>(from)] == 1 &&
                          output_reusable(spec_.layers[static_cast<std::size_t>(from)].op);
    const LayerTensors& t = layer_tensors_[i];
    at::Tensor y;
    switch (layer.op) {
      case Op::input:
        break;
      case Op::conv2d:
        y = at::conv2d(x, param(t.weight), param(t.bias), {layer.stride, layer.stride},
                       {layer.padding, layer.padding}, {1, 1}, layer.groups);
        break;
      case Op::batch_norm:
        y = at::batch_norm(x, param(t.weight), param(t.bias), param(t.running_mean),
                           param(t.running_var), training, layer.momentum, layer.eps,
                           /*cudnn_enabled=*/true);
        break;
      case Op::relu:
        y = in_place ? at::relu_(outs[static_cast<std::size_t>(from)]) : at::relu(x);
        break;
      case Op::gelu:
        y = at::gelu(x);
        break;
      case Op::max_pool:
        y = at::max_pool2d(x, {layer.kernel, layer.kernel}, {layer.stride, layer.stride},
                           {layer.padding, layer.padding});
        break;
      case Op::avg_pool:
        y = at::avg_pool2d(x, {layer.kernel, layer.kernel}, {layer.stride, layer.stride},
                           {layer.padding, layer.padding}, /*ceil_mode=*/false,
                           /*count_include_pad=*/true);
        break;
      case Op::global_avg_pool:
        y = at::adaptive_avg_pool2d(x, {1, 1});
        break;
      case Op::flatten:
        y = x.flatten(1);
        break;
      case Op::linear:
        y = at::linear(x.dim() > 2 ? x.flatten(1) : x, param(t.weight), param(t.bias));
        break;
      case Op::dropout:
        y = at::dropout(x, layer.p, training);
        break;
      case Op::add: {
        const at::Tensor& other = outs[static_cast<std::size_t>(layer.inputs[1])];
        y = in_place ? outs[static_cast<std::size_t>(from)].add_(other) : x + other;
        break;
      }
      case Op::pad_channels: {
        // Zero channels split equally before and after (odd extra goes after), as F.pad does
        // in the common CIFAR ResNet option-A shortcut.
        const std::int64_t extra = layer.out_channels - x.size(1);
        const std::int64_t before = extra / 2;
        y = at::constant_pad_nd(x, {0, 0, 0, 0, before, extra - before}, 0.0);
        break;
      }
      case Op::subsample:
        y = x.slice(2, 0, c10::nullopt, layer.stride).slice(3, 0, c10::nullopt, layer.stride);
        break;
      case Op::scale:
        y = x * layer.scale;
        break;
    }
    outs[i] = std::move(y);
    // Drop outputs no later layer reads (autograd keeps what backward needs).
    for (int in : layer.inputs) {
      if (--remaining[static_cast<std::size_t>(in)] == 0) outs[static_cast<std::size_t>(in)].reset();
    }
  }
  return outs.back().dim() > 2 ? outs.back().flatten(1) : outs.back();
}

}  // namespace cb::backends::torch_backend
