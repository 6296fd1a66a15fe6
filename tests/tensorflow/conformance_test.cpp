// The TensorFlow backend's own conformance checks, run against the real library when one is
// found (see docs/backends/tensorflow.md); without TensorFlow every test here is SKIPPED with
// the loader's reason. Cross-framework agreement lives in tests/conformance/.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/backend.h"
#include "backends/tensorflow/tf_library.h"
#include "core/error.h"

namespace cb::backends {
namespace {

using model::Layer;
using model::ModelSpec;
using model::Op;

Layer layer(std::string name, Op op) {
  Layer l;
  l.name = std::move(name);
  l.op = op;
  return l;
}
Layer conv(std::string name, int out, int kernel, int stride, int padding, bool bias) {
  Layer l = layer(std::move(name), Op::conv2d);
  l.out_channels = out;
  l.kernel = kernel;
  l.stride = stride;
  l.padding = padding;
  l.bias = bias;
  return l;
}
Layer linear(std::string name, int out) {
  Layer l = layer(std::move(name), Op::linear);
  l.out_features = out;
  l.bias = true;
  return l;
}
ModelSpec spec_of(model::Shape input, std::vector<Layer> body) {
  ModelSpec s;
  s.name = "conformance";
  s.input = input;
  s.layers.push_back(layer("input", Op::input));
  for (auto& l : body) s.layers.push_back(std::move(l));
  return s;
}

model::NamedTensor uniform(const std::string& name, std::vector<std::int64_t> shape, double bound,
                           std::mt19937& rng) {
  model::NamedTensor t{name, true, {std::move(shape), {}}};
  std::uniform_real_distribution<float> dist(static_cast<float>(-bound), static_cast<float>(bound));
  t.tensor.values.resize(static_cast<std::size_t>(t.tensor.numel()));
  for (auto& v : t.tensor.values) v = dist(rng);
  return t;
}
model::NamedTensor filled(const std::string& name, std::int64_t n, float value, bool trainable) {
  return {name, trainable, {{n}, std::vector<float>(static_cast<std::size_t>(n), value)}};
}

// PyTorch-style default initialization for the layers these tests use.
model::Weights weights_for(const ModelSpec& spec, unsigned seed) {
  std::mt19937 rng(seed);
  model::Weights w;
  int c = spec.input.c, h = spec.input.h, wd = spec.input.w;
  for (const auto& l : spec.layers) {
    if (l.op == Op::conv2d) {
      const double bound = 1.0 / std::sqrt(c * l.kernel * l.kernel);
      w.tensors.push_back(uniform(l.name + ".weight", {l.out_channels, c, l.kernel, l.kernel}, bound, rng));
      if (l.bias) w.tensors.push_back(uniform(l.name + ".bias", {l.out_channels}, bound, rng));
      c = l.out_channels;
      h = (h + 2 * l.padding - l.kernel) / l.stride + 1;
      wd = (wd + 2 * l.padding - l.kernel) / l.stride + 1;
    } else if (l.op == Op::batch_norm) {
      w.tensors.push_back(filled(l.name + ".weight", c, 1.0f, true));
      w.tensors.push_back(filled(l.name + ".bias", c, 0.0f, true));
      w.tensors.push_back(filled(l.name + ".running_mean", c, 0.0f, false));
      w.tensors.push_back(filled(l.name + ".running_var", c, 1.0f, false));
    } else if (l.op == Op::flatten) {
      c = c * h * wd;
      h = wd = 1;
    } else if (l.op == Op::linear) {
      const double bound = 1.0 / std::sqrt(c);
      w.tensors.push_back(uniform(l.name + ".weight", {l.out_features, c}, bound, rng));
      w.tensors.push_back(uniform(l.name + ".bias", {l.out_features}, bound, rng));
      c = l.out_features;
    }
  }
  return w;
}

data::Batch random_batch(const ModelSpec& spec, int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> pixel(0.0f, 1.0f);
  std::uniform_int_distribution<int> label(0, spec.num_classes - 1);
  data::Batch b;
  b.layout = data::Layout::nhwc;
  b.n = n;
  b.c = spec.input.c;
  b.h = spec.input.h;
  b.w = spec.input.w;
  b.data.resize(static_cast<std::size_t>(b.numel()));
  for (auto& v : b.data) v = pixel(rng);
  for (int i = 0; i < n; ++i) {
    b.labels.push_back(label(rng));
    b.indices.push_back(i);
  }
  return b;
}

class TensorFlowConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto& loaded = tf::process_tensorflow_library();
    if (!loaded.library) GTEST_SKIP() << "TensorFlow is not available: " << loaded.reason;
    register_builtin_backends();
    backend_ = find_backend("tensorflow");
    ASSERT_NE(backend_, nullptr);
  }
  std::unique_ptr<Trainer> trainer(const ModelSpec& spec, const model::Weights& weights,
                                   OptimizerConfig opt = {}) {
    TrainerConfig config;
    config.model = std::make_shared<const model::AnalysedModel>(model::analyse(spec));
    config.initial_weights = &weights;
    config.optimizer = opt;
    config.execution.device = "cpu";
    return backend_->create_trainer(config);
  }
  const Backend* backend_ = nullptr;
};

// conv 3×3 stride 2 padding 1 (where TF's SAME would differ), flatten, linear.
ModelSpec small_conv_net() {
  return spec_of({3, 8, 8}, {conv("conv", 4, 3, 2, 1, true), layer("flat", Op::flatten),
                             linear("fc", 10)});
}

// The same network computed directly on the host from the spec's NCHW/OIHW definition.
std::vector<double> reference_logits(const model::Weights& w, const data::Batch& b) {
  const auto& cw = w.find("conv.weight")->tensor.values;
  const auto& cb = w.find("conv.bias")->tensor.values;
  const auto& fw = w.find("fc.weight")->tensor.values;
  const auto& fb = w.find("fc.bias")->tensor.values;
  std::vector<double> out;
  for (int n = 0; n < b.n; ++n) {
    std::vector<double> features;  // C×H×W order, as PyTorch flattens
    for (int o = 0; o < 4; ++o)
      for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 4; ++x) {
          double s = cb[static_cast<std::size_t>(o)];
          for (int i = 0; i < 3; ++i)
            for (int ky = 0; ky < 3; ++ky)
              for (int kx = 0; kx < 3; ++kx) {
                const int iy = y * 2 - 1 + ky, ix = x * 2 - 1 + kx;
                if (iy < 0 || ix < 0 || iy >= 8 || ix >= 8) continue;
                const auto pixel = b.data[static_cast<std::size_t>(((n * 8 + iy) * 8 + ix) * 3 + i)];
                s += cw[static_cast<std::size_t>(((o * 3 + i) * 3 + ky) * 3 + kx)] * pixel;
              }
          features.push_back(s);
        }
    for (int k = 0; k < 10; ++k) {
      double s = fb[static_cast<std::size_t>(k)];
      for (std::size_t f = 0; f < features.size(); ++f) s += fw[static_cast<std::size_t>(k) * 64 + f] * features[f];
      out.push_back(s);
    }
  }
  return out;
}

TEST_F(TensorFlowConformance, ParameterCountEqualsTheSpecsTrainableTensors) {
  const auto spec = small_conv_net();
  const auto weights = weights_for(spec, 1);
  EXPECT_EQ(trainer(spec, weights)->parameter_count(), weights.trainable_count());
}

TEST_F(TensorFlowConformance, CreateTrainerThrowsWhatUnsupportedSays) {
  const auto spec = small_conv_net();
  const auto weights = weights_for(spec, 1);
  TrainerConfig config;
  config.model = std::make_shared<const model::AnalysedModel>(model::analyse(spec));
  config.initial_weights = &weights;
  config.execution.precision = MixedPrecision::bf16;
  const auto why = backend_->unsupported(config.execution);
  ASSERT_TRUE(why.has_value());
  try {
    backend_->create_trainer(config);
    FAIL() << "create_trainer accepted bf16";
  } catch (const Unsupported& e) {
    EXPECT_EQ(std::string(e.what()), *why);
  }
}

TEST_F(TensorFlowConformance, ExportReturnsTheImportedWeightsExactly) {
  const auto spec = small_conv_net();
  const auto weights = weights_for(spec, 2);
  const auto exported = trainer(spec, weights)->export_weights();
  ASSERT_EQ(exported.tensors.size(), weights.tensors.size());
  for (std::size_t i = 0; i < weights.tensors.size(); ++i) {
    EXPECT_EQ(exported.tensors[i].name, weights.tensors[i].name);
    EXPECT_EQ(exported.tensors[i].tensor.shape, weights.tensors[i].tensor.shape);
    EXPECT_EQ(exported.tensors[i].tensor.values, weights.tensors[i].tensor.values);
  }
}

TEST_F(TensorFlowConformance, LogitsMatchTheSpecsDefinitionComputedOnTheHost) {
  const auto spec = small_conv_net();
  const auto weights = weights_for(spec, 3);
  const auto batch = random_batch(spec, 5, 4);
  const auto logits = trainer(spec, weights)->logits(batch);
  const auto expected = reference_logits(weights, batch);
  ASSERT_EQ(logits.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(logits[i], expected[i], 1e-4) << i;
}

TEST_F(TensorFlowConformance, OneSgdStepFollowsTheRecipesDefinition) {
  const auto spec = spec_of({3, 2, 2}, {layer("flat", Op::flatten), linear("fc", 10)});
  const auto weights = weights_for(spec, 5);
  const auto batch = random_batch(spec, 8, 6);
  OptimizerConfig opt;
  opt.momentum = 0.9;
  opt.nesterov = true;
  opt.weight_decay = 5e-4;
  opt.label_smoothing = 0.1;
  auto t = trainer(spec, weights, opt);
  t->set_learning_rate(0.1);
  t->train_step(batch);
  const auto after = t->export_weights();
  // Host reference: softmax cross-entropy gradient, then g + wd·w, v = g, step = g + m·v.
  const auto& w = weights.find("fc.weight")->tensor.values;
  const auto& b = weights.find("fc.bias")->tensor.values;
  std::vector<double> gw(w.size(), 0.0), gb(b.size(), 0.0);
  for (int n = 0; n < batch.n; ++n) {
    const float* x = batch.data.data() + n * 12;
    // NHWC 2×2×3 → PyTorch's C×H×W feature order.
    std::vector<double> f(12);
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 4; ++p) f[static_cast<std::size_t>(c * 4 + p)] = x[p * 3 + c];
    std::vector<double> z(10);
    double max = -1e300;
    for (int k = 0; k < 10; ++k) {
      z[static_cast<std::size_t>(k)] = b[static_cast<std::size_t>(k)];
      for (int i = 0; i < 12; ++i) z[static_cast<std::size_t>(k)] += w[static_cast<std::size_t>(k * 12 + i)] * f[static_cast<std::size_t>(i)];
      max = std::max(max, z[static_cast<std::size_t>(k)]);
    }
    double sum = 0;
    for (auto& v : z) sum += std::exp(v - max);
    for (int k = 0; k < 10; ++k) {
      const double target = (k == batch.labels[static_cast<std::size_t>(n)] ? 0.9 : 0.0) + 0.01;
      const double d = (std::exp(z[static_cast<std::size_t>(k)] - max) / sum - target) / batch.n;
      gb[static_cast<std::size_t>(k)] += d;
      for (int i = 0; i < 12; ++i) gw[static_cast<std::size_t>(k * 12 + i)] += d * f[static_cast<std::size_t>(i)];
    }
  }
  auto expect_step = [&](const std::string& name, const std::vector<float>& before,
                         const std::vector<double>& grad) {
    const auto& got = after.find(name)->tensor.values;
    for (std::size_t i = 0; i < before.size(); ++i) {
      const double g = grad[i] + 5e-4 * before[i];
      EXPECT_NEAR(got[i], before[i] - 0.1 * (g + 0.9 * g), 1e-5) << name << "[" << i << "]";
    }
  };
  expect_step("fc.weight", w, gw);
  expect_step("fc.bias", b, gb);
}

TEST_F(TensorFlowConformance, EvaluationChangesNoWeights) {
  const auto spec = spec_of({3, 8, 8}, {conv("conv", 4, 3, 1, 1, false),
                                        layer("bn", Op::batch_norm), layer("flat", Op::flatten),
                                        linear("fc", 10)});
  const auto weights = weights_for(spec, 7);
  auto t = trainer(spec, weights);
  t->evaluate(random_batch(spec, 4, 8));
  const auto exported = t->export_weights();
  for (const auto& tensor : weights.tensors) {
    EXPECT_EQ(exported.find(tensor.name)->tensor.values, tensor.tensor.values) << tensor.name;
  }
}

TEST_F(TensorFlowConformance, OverfitsTwoHundredFiftySixImages) {
  const auto spec = spec_of({3, 32, 32}, {conv("conv", 8, 3, 2, 1, false),
                                          layer("bn", Op::batch_norm), layer("relu", Op::relu),
                                          layer("flat", Op::flatten), linear("fc", 10)});
  const auto weights = weights_for(spec, 9);
  OptimizerConfig opt;
  opt.weight_decay = 0;
  auto t = trainer(spec, weights, opt);
  t->set_learning_rate(0.05);
  std::vector<data::Batch> batches;
  for (int i = 0; i < 4; ++i) batches.push_back(random_batch(spec, 64, 100 + static_cast<unsigned>(i)));
  for (int epoch = 0; epoch < 40; ++epoch) {
    for (const auto& b : batches) t->train_step(b);
  }
  EvalResult total;
  for (const auto& b : batches) {
    const auto r = t->evaluate(b);
    total.correct += r.correct;
    total.count += r.count;
  }
  EXPECT_EQ(total.count, 256);
  EXPECT_GE(static_cast<double>(total.correct) / total.count, 0.95);
}

}  // namespace
}  // namespace cb::backends
