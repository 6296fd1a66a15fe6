// The torch backend builds the spec it is given and computes what the spec says.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "tiny_models.h"

namespace cb::testing {
namespace {

using backends::Trainer;

const model::Tensor& tensor(const model::Weights& w, const std::string& name) {
  return w.find(name)->tensor;
}

// conv(k3, p1, bias) → bn (running stats) → relu → maxpool 2 → flatten → linear, in float64
// with direct loops, for an N×C×H×W batch.
std::vector<double> reference_logits(const model::ModelSpec& spec, const model::Weights& w,
                                     const data::Batch& b) {
  const auto& cw = tensor(w, "conv.weight");
  const int co = static_cast<int>(cw.shape[0]), ci = b.c, h = b.h, wd = b.w;
  const auto& cb = tensor(w, "conv.bias").values;
  const auto& gamma = tensor(w, "bn.weight").values;
  const auto& beta = tensor(w, "bn.bias").values;
  const auto& mean = tensor(w, "bn.running_mean").values;
  const auto& var = tensor(w, "bn.running_var").values;
  const auto& fw = tensor(w, "fc.weight").values;
  const auto& fb = tensor(w, "fc.bias").values;
  const int classes = spec.num_classes, ph = h / 2, pw = wd / 2;
  std::vector<double> out;
  for (int n = 0; n < b.n; ++n) {
    auto pixel = [&](int c, int y, int x) -> double {
      if (y < 0 || y >= h || x < 0 || x >= wd) return 0.0;
      return b.data[static_cast<std::size_t>(((n * ci + c) * h + y) * wd + x)];
    };
    std::vector<double> act(static_cast<std::size_t>(co * h * wd));
    for (int o = 0; o < co; ++o) {
      for (int y = 0; y < h; ++y) {
        for (int x = 0; x < wd; ++x) {
          double s = cb[o];
          for (int c = 0; c < ci; ++c) {
            for (int ky = 0; ky < 3; ++ky) {
              for (int kx = 0; kx < 3; ++kx) {
                s += cw.values[static_cast<std::size_t>(((o * ci + c) * 3 + ky) * 3 + kx)] *
                     pixel(c, y + ky - 1, x + kx - 1);
              }
            }
          }
          const double bn = (s - mean[o]) / std::sqrt(double{var[o]} + 1e-5) * gamma[o] + beta[o];
          act[static_cast<std::size_t>((o * h + y) * wd + x)] = std::max(bn, 0.0);
        }
      }
    }
    std::vector<double> flat;  // C × H/2 × W/2, row-major, as flatten orders it
    for (int o = 0; o < co; ++o) {
      for (int y = 0; y < ph; ++y) {
        for (int x = 0; x < pw; ++x) {
          double m = -std::numeric_limits<double>::infinity();
          for (int dy = 0; dy < 2; ++dy) {
            for (int dx = 0; dx < 2; ++dx) {
              m = std::max(m, act[static_cast<std::size_t>((o * h + 2 * y + dy) * wd + 2 * x + dx)]);
            }
          }
          flat.push_back(m);
        }
      }
    }
    for (int k = 0; k < classes; ++k) {
      double s = fb[k];
      for (std::size_t f = 0; f < flat.size(); ++f) s += fw[k * flat.size() + f] * flat[f];
      out.push_back(s);
    }
  }
  return out;
}

TEST(TorchConformance, ParameterCountEqualsTheSpecs) {
  const auto spec = conv_bn_relu_pool_linear({3, 6, 6}, 4, 5);
  const auto weights = random_weights(spec, 1);
  const auto trainer = torch_backend().create_trainer(cpu_config(spec, weights));
  // conv 4·3·3·3 + 4, bn 4 + 4, linear 5·(4·3·3) + 5
  EXPECT_EQ(trainer->parameter_count(), 112 + 8 + 185);
  EXPECT_EQ(trainer->parameter_count(), weights.trainable_count());
}

TEST(TorchConformance, LogitsMatchAFloat64ComputationOfTheSpec) {
  const auto spec = conv_bn_relu_pool_linear({3, 6, 6}, 4, 5);
  const auto weights = random_weights(spec, 2);
  const auto batch = random_batch(spec, 3, 3);
  const auto trainer = torch_backend().create_trainer(cpu_config(spec, weights));
  const std::vector<float> got = trainer->logits(batch);
  const std::vector<double> want = reference_logits(spec, weights, batch);
  ASSERT_EQ(got.size(), want.size());
  double scale = 0;
  for (double v : want) scale = std::max(scale, std::abs(v));
  ASSERT_GT(scale, 0.1);
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], 1e-5 * scale) << "logit " << i;
  }
}

TEST(TorchConformance, ExportedWeightsAreTheLoadedOnesBitForBit) {
  const auto spec = conv_bn_relu_pool_linear({3, 6, 6}, 4, 5);
  const auto weights = random_weights(spec, 4);
  const auto trainer = torch_backend().create_trainer(cpu_config(spec, weights));
  const auto exported = trainer->export_weights();
  ASSERT_EQ(exported.tensors.size(), weights.tensors.size());
  for (std::size_t i = 0; i < weights.tensors.size(); ++i) {
    EXPECT_EQ(exported.tensors[i].name, weights.tensors[i].name);
    EXPECT_EQ(exported.tensors[i].trainable, weights.tensors[i].trainable);
    EXPECT_EQ(exported.tensors[i].tensor.shape, weights.tensors[i].tensor.shape);
    EXPECT_EQ(exported.tensors[i].tensor.values, weights.tensors[i].tensor.values);
  }
}

TEST(TorchConformance, ImportedWeightsReplaceTheTrainedOnes) {
  const auto spec = conv_bn_relu_pool_linear({3, 6, 6}, 4, 5);
  const auto weights = random_weights(spec, 5);
  const auto batch = random_batch(spec, 8, 6);
  const auto trained = torch_backend().create_trainer(cpu_config(spec, weights));
  trained->set_learning_rate(0.1);
  for (int i = 0; i < 3; ++i) trained->train_step(batch);
  const auto after = trained->export_weights();
  const auto fresh = torch_backend().create_trainer(cpu_config(spec, weights));
  fresh->import_weights(after);
  EXPECT_EQ(fresh->logits(batch), trained->logits(batch));
  EXPECT_NE(fresh->logits(batch), torch_backend().create_trainer(cpu_config(spec, weights))->logits(batch));
}

TEST(TorchConformance, EvaluateCountsCorrectPredictionsAndSumsTheLoss) {
  const auto spec = conv_bn_relu_pool_linear({3, 6, 6}, 4, 5);
  const auto weights = random_weights(spec, 7);
  const auto batch = random_batch(spec, 10, 8);
  const auto trainer = torch_backend().create_trainer(cpu_config(spec, weights));
  const auto logits = trainer->logits(batch);
  std::int64_t correct = 0;
  double loss = 0;
  for (int n = 0; n < batch.n; ++n) {
    const float* row = logits.data() + n * 5;
    const auto best = std::max_element(row, row + 5) - row;
    correct += best == batch.labels[static_cast<std::size_t>(n)];
    double z = 0;
    for (int k = 0; k < 5; ++k) z += std::exp(double{row[k]});
    loss += std::log(z) - row[batch.labels[static_cast<std::size_t>(n)]];
  }
  const auto r = trainer->evaluate(batch);
  EXPECT_EQ(r.count, 10);
  EXPECT_EQ(r.correct, correct);
  EXPECT_NEAR(r.loss_sum, loss, 1e-4);
}

TEST(TorchConformance, OptionAShortcutSubsamplesAndPadsChannelsOnBothSides) {
  model::Layer sub = layer("sub", model::Op::subsample);
  sub.stride = 2;
  model::Layer pad = layer("pad", model::Op::pad_channels);
  pad.out_channels = 6;
  const auto spec =
      make_spec("shortcut", {2, 4, 4}, 24, {sub, pad, layer("flatten", model::Op::flatten)});
  const auto batch = random_batch(spec, 1, 9);
  const auto trainer = torch_backend().create_trainer(cpu_config(spec, model::Weights{}));
  const auto out = trainer->logits(batch);  // 6 channels × 2 × 2
  ASSERT_EQ(out.size(), 24u);
  for (int c = 0; c < 6; ++c) {
    for (int y = 0; y < 2; ++y) {
      for (int x = 0; x < 2; ++x) {
        const bool from_input = c == 2 || c == 3;  // (6 - 2) / 2 = 2 zero channels before
        const float want =
            from_input ? batch.data[static_cast<std::size_t>(((c - 2) * 4 + 2 * y) * 4 + 2 * x)] : 0.0f;
        EXPECT_EQ(out[static_cast<std::size_t>((c * 2 + y) * 2 + x)], want) << c << y << x;
      }
    }
  }
}

}  // namespace
}  // namespace cb::testing
