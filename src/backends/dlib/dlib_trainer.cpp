// The network-independent half of the dlib trainer: weights in and out (with every layout
// conversion between the spec's tensors and dlib's one-tensor-per-layer parameters), the batch
// norm running statistics in PyTorch's convention, the optimizer step and the loss.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "backends/dlib/dlib_network.h"

namespace cb::backends::dlib_backend {
namespace {
using model::Op;

bool has_parameters(Op op) { return op == Op::conv2d || op == Op::batch_norm || op == Op::linear; }

// The tensor `name` of `weights`, checked to hold `numel` values of the expected shape.
const model::Tensor& tensor_of(const model::Weights& weights, const std::string& name,
                               const std::vector<std::int64_t>& shape) {
  const auto* found = weights.find(name);
  if (found == nullptr) {
    throw InputError(fmt::format("weights: tensor '{}' is missing", name));
  }
  if (found->tensor.shape != shape) {
    throw InputError(fmt::format("weights: tensor '{}' has shape [{}], expected [{}]", name,
                                 fmt::join(found->tensor.shape, ", "), fmt::join(shape, ", ")));
  }
  if (static_cast<std::int64_t>(found->tensor.values.size()) != found->tensor.numel()) {
    throw InputError(fmt::format("weights: tensor '{}' holds {} values for shape [{}]", name,
                                 found->tensor.values.size(), fmt::join(shape, ", ")));
  }
  return found->tensor;
}

// The tensor of `role` among a layer's analysed tensors.
const model::ParameterShape& tensor_shape(const std::vector<model::ParameterShape>& tensors,
                                          model::TensorRole role) {
  for (const auto& t : tensors) {
    if (t.role == role) return t;
  }
  throw CheckFailed("dlib: the analysed model lacks a tensor of a parameter layer");
}

model::NamedTensor named(std::string name, bool trainable, std::vector<std::int64_t> shape,
                         std::vector<float> values) {
  model::NamedTensor t;
  t.name = std::move(name);
  t.trainable = trainable;
  t.tensor.shape = std::move(shape);
  t.tensor.values = std::move(values);
  return t;
}
}  // namespace

TrainerCore::TrainerCore(const TrainerConfig& config, std::string type_name)
    : model_(config.model),
      spec_(model_->spec),
      type_name_(std::move(type_name)),
      optimizer_config_(config.optimizer),
      optimizer_(config.optimizer),
      threads_(config.execution.threads) {
  for (std::size_t i = 0; i < spec_.layers.size(); ++i) {
    const auto& layer = spec_.layers[i];
    if (has_parameters(layer.op)) spec_layers_.push_back({&layer, &model_->layers[i].tensors, {}, {}});
  }
}

void TrainerCore::check_batch(const data::Batch& batch, const char* what) const {
  if (batch.layout != data::Layout::nchw || batch.precision != data::Precision::float32) {
    throw InputError(fmt::format("dlib {}: expected a float32 NCHW batch, got a {} {} one", what,
                                 batch.precision == data::Precision::float32 ? "float32" : "uint8",
                                 data::to_string(batch.layout)));
  }
  if (batch.c != spec_.input.c || batch.h != spec_.input.h || batch.w != spec_.input.w) {
    throw InputError(fmt::format("dlib {}: batch images are {}x{}x{}, model '{}' expects {}x{}x{}",
                                 what, batch.c, batch.h, batch.w, spec_.name, spec_.input.c,
                                 spec_.input.h, spec_.input.w));
  }
  if (batch.n < 1 || static_cast<std::int64_t>(batch.data.size()) != batch.numel() ||
      static_cast<int>(batch.labels.size()) != batch.n) {
    throw InputError(fmt::format("dlib {}: batch of {} images holds {} values and {} labels", what,
                                 batch.n, batch.data.size(), batch.labels.size()));
  }
  for (auto label : batch.labels) {
    if (label < 0 || label >= spec_.num_classes) {
      throw InputError(
          fmt::format("dlib {}: label {} outside [0, {})", what, label, spec_.num_classes));
    }
  }
}

void TrainerCore::copy_input(const data::Batch& batch) {
  input_.set_size(batch.n, batch.c, batch.h, batch.w);  // dlib's tensors are NCHW too
  std::copy(batch.data.begin(), batch.data.end(), input_.host_write_only());
  labels_ = batch.labels;
}

void TrainerCore::configure_layers() {
  if (parameters_.size() != spec_layers_.size()) {
    throw CheckFailed(fmt::format("dlib {} type has {} parameter layers, the spec {}", type_name_,
                                  parameters_.size(), spec_layers_.size()));
  }
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const auto& layer = *spec_layers_[i].layer;
    if (parameters_[i].op != layer.op) {
      throw CheckFailed(
          fmt::format("dlib {} type: parameter layer {} does not match spec layer "
                      "'{}'",
                      type_name_, i, layer.name));
    }
    if (parameters_[i].configure_bias) parameters_[i].configure_bias(layer.bias);
    if (parameters_[i].configure_eps) parameters_[i].configure_eps(layer.eps);
    if (parameters_[i].configure_outputs) parameters_[i].configure_outputs(layer.out_features);
  }
  states_.assign(parameters_.size(), {});
}

// Layouts (spec → dlib), one dlib parameter tensor per layer:
//   conv2d:     weight [out, in, k, k] (OIHW) then bias [out]: dlib's con_ stores filters as
//               [num_filters, k, nr, nc] followed by the biases, the same order; copied as is.
//   batch_norm: weight (gamma) [C] then bias (beta) [C]: bn_'s params are gamma then beta.
//   linear:     weight [out, in] is transposed into fc_'s [in, out], then bias [out] as fc_'s
//               last row (fc_ computes x · W + b with x flattened C·H·W, as the spec flattens).
void TrainerCore::load(const model::Weights& weights) {
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    auto& spec_layer = spec_layers_[i];
    const auto& layer = *spec_layer.layer;
    dlib::tensor& params = *parameters_[i].params;
    float* dst = params.host();
    std::size_t expected = 0;
    const auto& tensors = *spec_layer.tensors;
    const auto shape = [&](model::TensorRole role) { return tensor_shape(tensors, role).shape; };
    // The copies below write the analysed shapes into dlib's tensor: they must fit exactly.
    std::size_t analysed = 0;
    for (const auto& t : tensors) {
      std::size_t n = 1;
      for (auto d : t.shape) n *= static_cast<std::size_t>(d);
      if (t.trainable) analysed += n;
    }
    if (analysed != params.size()) {
      throw CheckFailed(fmt::format("dlib {} type: layer '{}' holds {} parameters, the model {}",
                                    type_name_, layer.name, params.size(), analysed));
    }
    switch (layer.op) {
      case Op::conv2d: {
        const auto& w = tensor_of(weights, layer.name + ".weight", shape(model::TensorRole::weight));
        dst = std::copy(w.values.begin(), w.values.end(), dst);
        expected = w.values.size();
        if (layer.bias) {
          const auto& b = tensor_of(weights, layer.name + ".bias", {layer.out_channels});
          std::copy(b.values.begin(), b.values.end(), dst);
          expected += b.values.size();
        }
        break;
      }
      case Op::batch_norm: {
        const std::int64_t c = shape(model::TensorRole::weight)[0];
        const auto& g = tensor_of(weights, layer.name + ".weight", {c});
        const auto& b = tensor_of(weights, layer.name + ".bias", {c});
        const auto& m = tensor_of(weights, layer.name + ".running_mean", {c});
        const auto& v = tensor_of(weights, layer.name + ".running_var", {c});
        dst = std::copy(g.values.begin(), g.values.end(), dst);
        std::copy(b.values.begin(), b.values.end(), dst);
        spec_layer.running_mean = m.values;
        spec_layer.running_var = v.values;
        // Resets bn_'s update counter (the set-up pass counted one), so that its next running
        // statistics are exactly the next batch's.
        std::vector<float> ignored_mean, ignored_var;
        parameters_[i].batch_statistics(ignored_mean, ignored_var);
        expected = 2 * static_cast<std::size_t>(c);
        break;
      }
      case Op::linear: {
        const std::int64_t out = layer.out_features;
        const std::int64_t in = shape(model::TensorRole::weight)[1];
        const auto& w = tensor_of(weights, layer.name + ".weight", {out, in});
        for (std::int64_t o = 0; o < out; ++o) {
          for (std::int64_t j = 0; j < in; ++j) dst[j * out + o] = w.values[o * in + j];
        }
        expected = static_cast<std::size_t>(out * in);
        if (layer.bias) {
          const auto& b = tensor_of(weights, layer.name + ".bias", {out});
          std::copy(b.values.begin(), b.values.end(), dst + out * in);
          expected += static_cast<std::size_t>(out);
        }
        break;
      }
      default:
        break;
    }
    if (expected != params.size()) {
      throw CheckFailed(fmt::format("dlib {} type: layer '{}' holds {} parameters, the weights {}",
                                    type_name_, layer.name, params.size(), expected));
    }
  }
}

model::Weights TrainerCore::save() const {
  model::Weights out;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const auto& spec_layer = spec_layers_[i];
    const auto& layer = *spec_layer.layer;
    const dlib::tensor& params = *parameters_[i].params;
    const float* src = params.host();
    const auto total = static_cast<std::int64_t>(params.size());
    const auto& weight = tensor_shape(*spec_layer.tensors, model::TensorRole::weight).shape;
    switch (layer.op) {
      case Op::conv2d: {
        const std::int64_t bias = layer.bias ? layer.out_channels : 0;
        out.tensors.push_back(
            named(layer.name + ".weight", true, weight, {src, src + (total - bias)}));
        if (layer.bias) {
          out.tensors.push_back(named(layer.name + ".bias", true, {layer.out_channels},
                                      {src + total - bias, src + total}));
        }
        break;
      }
      case Op::batch_norm: {
        const std::int64_t c = weight[0];
        out.tensors.push_back(named(layer.name + ".weight", true, {c}, {src, src + c}));
        out.tensors.push_back(named(layer.name + ".bias", true, {c}, {src + c, src + 2 * c}));
        out.tensors.push_back(
            named(layer.name + ".running_mean", false, {c}, spec_layer.running_mean));
        out.tensors.push_back(
            named(layer.name + ".running_var", false, {c}, spec_layer.running_var));
        break;
      }
      case Op::linear: {
        const std::int64_t o = layer.out_features;
        const std::int64_t in = weight[1];
        std::vector<float> w(static_cast<std::size_t>(o * in));
        for (std::int64_t r = 0; r < o; ++r) {
          for (std::int64_t j = 0; j < in; ++j) w[r * in + j] = src[j * o + r];
        }
        out.tensors.push_back(named(layer.name + ".weight", true, {o, in}, std::move(w)));
        if (layer.bias) {
          out.tensors.push_back(
              named(layer.name + ".bias", true, {o}, {src + o * in, src + total}));
        }
        break;
      }
      default:
        break;
    }
  }
  return out;
}

// PyTorch's convention: running = (1 - momentum) * running + momentum * batch statistic, with the
// unbiased batch variance. dlib's own rule (a cumulative average over a window, see
// docs/backends/dlib.md) is bypassed: bn_ hands over each batch's statistics and the backend
// keeps the running values.
void TrainerCore::update_running_statistics() {
  std::vector<float>& mean = batch_mean_;
  std::vector<float>& var = batch_var_;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    if (parameters_[i].op != Op::batch_norm) continue;
    parameters_[i].batch_statistics(mean, var);
    auto& s = spec_layers_[i];
    const auto m = static_cast<float>(s.layer->momentum);
    for (std::size_t c = 0; c < mean.size(); ++c) {
      s.running_mean[c] = (1.0f - m) * s.running_mean[c] + m * mean[c];
      s.running_var[c] = (1.0f - m) * s.running_var[c] + m * var[c];
    }
  }
}

void TrainerCore::optimizer_step() {
  optimizer_.begin_step();
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    dlib::tensor& params = *parameters_[i].params;
    const dlib::tensor& grad = *parameters_[i].gradient;
    if (grad.size() != params.size()) {
      throw CheckFailed(fmt::format("dlib {} type: layer {} has {} parameters but {} gradients",
                                    type_name_, i, params.size(), grad.size()));
    }
    optimizer_.update(params.host(), grad.host(), params.size(), states_[i]);
  }
}

// Inference folds each batch norm into affine_'s per-channel scale (its "gamma") and shift (its
// "beta"): scale = gamma / sqrt(running_var + eps), shift = beta - mean * scale,
// computed in double from the backend's running statistics.
void TrainerCore::fold_batch_norm(const std::vector<dlib::affine_*>& affine) const {
  std::size_t next = 0;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    if (parameters_[i].op != Op::batch_norm) continue;
    if (next >= affine.size()) {
      throw CheckFailed(
          fmt::format("dlib {} inference type has fewer affine_ layers than bn_", type_name_));
    }
    const auto& s = spec_layers_[i];
    const float* bn = parameters_[i].params->host();
    auto gamma = affine[next]->get_gamma();
    auto beta = affine[next]->get_beta();
    ++next;
    const std::size_t c = s.running_mean.size();
    if (gamma.size() != c || beta.size() != c) {
      throw CheckFailed(
          fmt::format("dlib {} inference type: affine_ layer of {} channels where the "
                      "spec's '{}' has {}",
                      type_name_, gamma.size(), s.layer->name, c));
    }
    float* scale_out = gamma.host();
    float* shift_out = beta.host();
    for (std::size_t k = 0; k < c; ++k) {
      const double scale = bn[k] / std::sqrt(static_cast<double>(s.running_var[k]) + s.layer->eps);
      scale_out[k] = static_cast<float>(scale);
      shift_out[k] = static_cast<float>(bn[c + k] - s.running_mean[k] * scale);
    }
  }
}

StepResult TrainerCore::cross_entropy(const dlib::tensor& logits, double smoothing,
                                      dlib::tensor* gradient, double* loss_sum,
                                      std::int64_t* correct) {
  const long n = logits.num_samples();
  const long classes = logits.k() * logits.nr() * logits.nc();
  const float* z = logits.host();
  float* g = gradient != nullptr ? gradient->host_write_only() : nullptr;
  double total = 0;
  std::int64_t right = 0;
  probabilities_.resize(static_cast<std::size_t>(classes));
  double* p = probabilities_.data();
  for (long i = 0; i < n; ++i) {
    const float* row = z + i * classes;
    const long label = labels_[static_cast<std::size_t>(i)];
    const long best = static_cast<long>(std::max_element(row, row + classes) - row);
    if (best == label) ++right;
    const double top = row[best];
    double sum = 0;
    for (long c = 0; c < classes; ++c) sum += p[c] = std::exp(row[c] - top);
    const double log_sum = std::log(sum);
    double loss = 0;
    for (long c = 0; c < classes; ++c) {
      const double log_p = row[c] - top - log_sum;
      const double target = (c == label ? 1.0 - smoothing : 0.0) + smoothing / classes;
      loss -= target * log_p;
      if (g != nullptr) g[i * classes + c] = static_cast<float>((p[c] / sum - target) / n);
    }
    total += loss;
  }
  if (loss_sum != nullptr) *loss_sum = total;
  if (correct != nullptr) *correct = right;
  return {total / n, static_cast<double>(right) / n};
}

}  // namespace cb::backends::dlib_backend
