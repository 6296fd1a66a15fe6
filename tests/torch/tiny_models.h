// Small hand-built specs, weights and batches for the torch backend's tests (no zoo needed).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "core/rng.h"
#include "data/batch.h"
#include "model/spec.h"
#include "model/weights.h"

namespace cb::testing {

inline const backends::Backend& torch_backend() {
  backends::register_builtin_backends();
  const backends::Backend* b = backends::find_backend("torch");
  if (!b) throw std::runtime_error("torch backend not registered");
  return *b;
}

inline model::Layer layer(std::string name, model::Op op) {
  model::Layer l;
  l.name = std::move(name);
  l.op = op;
  return l;
}
inline model::Layer conv(std::string name, int out, int kernel, int stride, int padding,
                         bool bias) {
  model::Layer l = layer(std::move(name), model::Op::conv2d);
  l.out_channels = out;
  l.kernel = kernel;
  l.stride = stride;
  l.padding = padding;
  l.bias = bias;
  return l;
}
inline model::Layer pool(std::string name, model::Op op, int kernel, int stride) {
  model::Layer l = layer(std::move(name), op);
  l.kernel = kernel;
  l.stride = stride;
  return l;
}
inline model::Layer linear(std::string name, int out, bool bias) {
  model::Layer l = layer(std::move(name), model::Op::linear);
  l.out_features = out;
  l.bias = bias;
  return l;
}

inline model::ModelSpec make_spec(std::string name, model::Shape input, int classes,
                                  std::vector<model::Layer> body) {
  model::ModelSpec spec;
  spec.name = std::move(name);
  spec.input = input;
  spec.num_classes = classes;
  spec.layers.push_back(layer("input", model::Op::input));
  for (auto& l : body) spec.layers.push_back(std::move(l));
  return spec;
}

// input C×H×W → conv(k3, p1, bias) → bn → relu → maxpool 2 → flatten → linear(classes).
inline model::ModelSpec conv_bn_relu_pool_linear(model::Shape input, int channels, int classes) {
  using model::Op;
  return make_spec("conv-bn-relu-pool-linear", input, classes,
                   {conv("conv", channels, 3, 1, 1, true), layer("bn", Op::batch_norm),
                    layer("relu", Op::relu), pool("pool", Op::max_pool, 2, 2),
                    layer("flatten", Op::flatten), linear("fc", classes, true)});
}

// input C×1×1 → flatten → linear(classes, bias): the model of the optimizer tests.
inline model::ModelSpec linear_model(int features, int classes) {
  return make_spec("linear", {features, 1, 1}, classes,
                   {layer("flatten", model::Op::flatten), linear("fc", classes, true)});
}

inline model::NamedTensor random_tensor(std::string name, std::vector<std::int64_t> shape,
                                        Rng& rng, double mean, double stddev,
                                        bool trainable = true) {
  model::NamedTensor t;
  t.name = std::move(name);
  t.trainable = trainable;
  t.tensor.shape = std::move(shape);
  t.tensor.values.resize(static_cast<std::size_t>(t.tensor.numel()));
  for (auto& v : t.tensor.values) v = static_cast<float>(mean + stddev * rng.normal());
  return t;
}

// Random weights for the ops the test specs use (conv2d, batch_norm, linear), in spec order;
// batch-norm statistics are far from (0, 1) so that evaluation mode is really exercised.
inline model::Weights random_weights(const model::ModelSpec& spec, std::uint64_t seed) {
  Rng rng(seed);
  model::Weights w;
  model::Shape x = spec.input;
  for (const auto& l : spec.layers) {
    switch (l.op) {
      case model::Op::conv2d: {
        const double fan_in = static_cast<double>(x.c) * l.kernel * l.kernel;
        w.tensors.push_back(random_tensor(l.name + ".weight",
                                          {l.out_channels, x.c, l.kernel, l.kernel}, rng, 0,
                                          std::sqrt(2.0 / fan_in)));
        if (l.bias) w.tensors.push_back(random_tensor(l.name + ".bias", {l.out_channels}, rng, 0, 0.1));
        x.h = (x.h + 2 * l.padding - l.kernel) / l.stride + 1;
        x.w = (x.w + 2 * l.padding - l.kernel) / l.stride + 1;
        x.c = l.out_channels;
        break;
      }
      case model::Op::batch_norm: {
        w.tensors.push_back(random_tensor(l.name + ".weight", {x.c}, rng, 1.0, 0.2));
        w.tensors.push_back(random_tensor(l.name + ".bias", {x.c}, rng, 0.0, 0.2));
        w.tensors.push_back(random_tensor(l.name + ".running_mean", {x.c}, rng, 0.1, 0.2, false));
        auto var = random_tensor(l.name + ".running_var", {x.c}, rng, 0, 1, false);
        for (auto& v : var.tensor.values) v = 0.5f + std::abs(v);
        w.tensors.push_back(std::move(var));
        break;
      }
      case model::Op::max_pool:
        x.h = (x.h - l.kernel) / l.stride + 1;
        x.w = (x.w - l.kernel) / l.stride + 1;
        break;
      case model::Op::global_avg_pool:
        x.h = x.w = 1;
        break;
      case model::Op::flatten:
        x = {x.c * x.h * x.w, 1, 1};
        break;
      case model::Op::linear:
        w.tensors.push_back(random_tensor(l.name + ".weight", {l.out_features, x.c}, rng, 0,
                                          1.0 / std::sqrt(static_cast<double>(x.c))));
        if (l.bias) w.tensors.push_back(random_tensor(l.name + ".bias", {l.out_features}, rng, 0, 0.1));
        x = {l.out_features, 1, 1};
        break;
      default:
        break;
    }
  }
  return w;
}

// A batch of standard-normal pixels with labels cycling through the classes.
inline data::Batch random_batch(const model::ModelSpec& spec, int n, std::uint64_t seed) {
  Rng rng(seed);
  data::Batch b;
  b.n = n;
  b.c = spec.input.c;
  b.h = spec.input.h;
  b.w = spec.input.w;
  b.data.resize(static_cast<std::size_t>(b.numel()));
  for (auto& v : b.data) v = static_cast<float>(rng.normal());
  for (int i = 0; i < n; ++i) {
    b.labels.push_back(i % spec.num_classes);
    b.indices.push_back(i);
  }
  return b;
}

inline backends::TrainerConfig cpu_config(const model::ModelSpec& spec,
                                          const model::Weights& weights) {
  backends::TrainerConfig c;
  c.model = std::make_shared<const model::AnalysedModel>(model::analyse(spec));
  c.initial_weights = &weights;
  c.execution.threads = 2;
  c.execution.deterministic = true;
  return c;
}

}  // namespace cb::testing
