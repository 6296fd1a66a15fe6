// The part of the dlib backend that knows dlib: walking a compile-time network type (its
// layer signature and parameter tensors), dlib's private batch-norm statistics, and the trainer
// template every network type instantiates in its own .cpp file (see network_types.h).
#pragma once

#include <dlib/dnn.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "backends/backend.h"
#include "backends/dlib/blas_threads.h"
#include "backends/dlib/layer_signature.h"
#include "backends/dlib/recipe_optimizer.h"
#include "core/error.h"

namespace cb::backends::dlib_backend {

// Replaces bn_'s running statistics with (mean, var) read back from its latest training forward
// pass and resets its update counter. dlib keeps these fields private and reaches them only
// through its own serialization, so the layer is serialized, edited field by field in bn_'s
// serialization order (dlib 19.24's "bn_con2"/"bn_fc2"), and read back.
template <dlib::layer_mode Mode>
void take_batch_statistics(dlib::bn_<Mode>& bn, std::vector<float>& mean, std::vector<float>& var) {
  std::stringstream in;
  serialize(bn, in);
  std::string version;
  dlib::resizable_tensor params, means, invstds, running_means, running_variances;
  dlib::alias_tensor gamma, beta;
  unsigned long num_updates = 0, window = 0;
  double lr_mult = 0, wd_mult = 0, bias_lr_mult = 0, bias_wd_mult = 0, eps = 0;
  dlib::deserialize(version, in);
  if (version != "bn_con2" && version != "bn_fc2") {
    throw CheckFailed(
        fmt::format("dlib's bn_ serializes as '{}', not bn_con2/bn_fc2: this dlib "
                    "version is not the one the backend was written for",
                    version));
  }
  dlib::deserialize(params, in);
  dlib::deserialize(gamma, in);
  dlib::deserialize(beta, in);
  dlib::deserialize(means, in);
  dlib::deserialize(invstds, in);
  dlib::deserialize(running_means, in);
  dlib::deserialize(running_variances, in);
  dlib::deserialize(num_updates, in);
  dlib::deserialize(window, in);
  dlib::deserialize(lr_mult, in);
  dlib::deserialize(wd_mult, in);
  dlib::deserialize(bias_lr_mult, in);
  dlib::deserialize(bias_wd_mult, in);
  dlib::deserialize(eps, in);
  mean.assign(running_means.begin(), running_means.end());
  var.assign(running_variances.begin(), running_variances.end());
  // With 0 updates so far, bn_'s next averaging factor is 1: its running statistics become
  // exactly the next batch's statistics, which is what this function reads.
  num_updates = 0;
  std::stringstream out;
  dlib::serialize(version, out);
  dlib::serialize(params, out);
  dlib::serialize(gamma, out);
  dlib::serialize(beta, out);
  dlib::serialize(means, out);
  dlib::serialize(invstds, out);
  dlib::serialize(running_means, out);
  dlib::serialize(running_variances, out);
  dlib::serialize(num_updates, out);
  dlib::serialize(window, out);
  dlib::serialize(lr_mult, out);
  dlib::serialize(wd_mult, out);
  dlib::serialize(bias_lr_mult, out);
  dlib::serialize(bias_wd_mult, out);
  dlib::serialize(eps, out);
  deserialize(bn, out);
}

// One layer with parameters, in forward order, as the trainer sees it.
struct ParameterLayer {
  model::Op op = model::Op::input;             // conv2d, batch_norm or linear
  dlib::tensor* params = nullptr;              // the layer's single parameter tensor
  const dlib::tensor* gradient = nullptr;      // its gradient after back-propagation
  std::function<void(bool)> configure_bias;    // conv2d, linear: before setup
  std::function<void(int)> configure_outputs;  // linear: before setup
  std::function<void(double)> configure_eps;   // batch_norm: before setup
  std::function<double()> eps;                 // batch_norm: what bn_ holds (get_eps)
  // batch_norm: the last training batch's statistics (mean, unbiased variance).
  std::function<void(std::vector<float>&, std::vector<float>&)> batch_statistics;
};

// What a walk over a network found, in forward order.
struct NetworkWalk {
  std::vector<LayerSignature> signature;
  std::vector<ParameterLayer> parameters;
  std::vector<dlib::affine_*> affine_layers;  // inference networks: affine_ in bn_'s place
};

// Visits a network in forward order (dlib numbers layers from the output down, so the visit
// goes backwards), recording each computational layer's signature and each parameter layer.
class NetworkWalker {
 public:
  explicit NetworkWalker(NetworkWalk& out) : out_(&out) {}

  template <typename T, typename U, typename E>
  void operator()(dlib::add_layer<T, U, E>& layer) {
    inspect(layer.layer_details(), layer.get_parameter_gradient());
  }
  template <typename Other>
  void operator()(Other&) {}  // tags, skips and the input layer compute nothing

 private:
  using Op = model::Op;
  NetworkWalk* out_;

  template <long N, long NR, long NC, int SY, int SX, int PY, int PX>
  void inspect(dlib::con_<N, NR, NC, SY, SX, PY, PX>& conv, const dlib::tensor& gradient) {
    static_assert(NR == NC && SY == SX && PY == PX, "square kernels, strides and paddings only");
    out_->signature.push_back({Op::conv2d, static_cast<int>(conv.num_filters()), NR, SY, PY});
    ParameterLayer p;
    p.op = Op::conv2d;
    p.params = &conv.get_layer_params();
    p.gradient = &gradient;
    p.configure_bias = [&conv](bool bias) { bias ? conv.enable_bias() : conv.disable_bias(); };
    out_->parameters.push_back(std::move(p));
  }
  template <dlib::layer_mode Mode>
  void inspect(dlib::bn_<Mode>& bn, const dlib::tensor& gradient) {
    out_->signature.push_back({Op::batch_norm});
    ParameterLayer p;
    p.op = Op::batch_norm;
    p.params = &bn.get_layer_params();
    p.gradient = &gradient;
    // Window 1 and eps from the spec; the window is irrelevant since the counter is reset.
    p.configure_eps = [&bn](double eps) { bn = dlib::bn_<Mode>(1, eps); };
    p.eps = [&bn] { return bn.get_eps(); };
    p.batch_statistics = [&bn](std::vector<float>& mean, std::vector<float>& var) {
      take_batch_statistics(bn, mean, var);
    };
    out_->parameters.push_back(std::move(p));
  }
  void inspect(dlib::affine_& affine, const dlib::tensor&) {
    out_->signature.push_back({Op::batch_norm});
    out_->affine_layers.push_back(&affine);
  }
  template <unsigned long N, dlib::fc_bias_mode Mode>
  void inspect(dlib::fc_<N, Mode>& fc, const dlib::tensor& gradient) {
    static_assert(Mode == dlib::FC_HAS_BIAS, "the bias is switched off at run time from the spec");
    out_->signature.push_back({Op::linear});
    ParameterLayer p;
    p.op = Op::linear;
    p.params = &fc.get_layer_params();
    p.gradient = &gradient;
    p.configure_bias = [&fc](bool bias) {
      if (!bias) fc.disable_bias();
    };
    p.configure_outputs = [&fc](int outputs) { fc.set_num_outputs(outputs); };
    out_->parameters.push_back(std::move(p));
  }
  void inspect(dlib::relu_&, const dlib::tensor&) { out_->signature.push_back({Op::relu}); }
  template <long NR, long NC, int SY, int SX, int PY, int PX>
  void inspect(dlib::max_pool_<NR, NC, SY, SX, PY, PX>&, const dlib::tensor&) {
    static_assert(NR == NC && SY == SX && PY == PX, "square pools only");
    if (NR == 1 && PY == 0) {
      out_->signature.push_back(
          {Op::subsample, 0, 0, SY, 0});  // a 1x1 max pool picks every SY-th pixel
    } else {
      out_->signature.push_back({Op::max_pool, 0, NR, SY, PY});
    }
  }
  template <long NR, long NC, int SY, int SX, int PY, int PX>
  void inspect(dlib::avg_pool_<NR, NC, SY, SX, PY, PX>&, const dlib::tensor&) {
    static_assert(NR == NC && SY == SX && PY == PX, "square pools only");
    if (NR == 0) {
      out_->signature.push_back({Op::global_avg_pool});
    } else {
      static_assert(NR == 0 || PY == 0,
                    "dlib's padded average excludes the padding; the spec's "
                    "avg_pool counts it (count_include_pad)");
      out_->signature.push_back({Op::avg_pool, 0, NR, SY, PY});
    }
  }
  template <template <typename> class Tag>
  void inspect(dlib::add_prev_<Tag>&, const dlib::tensor&) {
    out_->signature.push_back({Op::add});
  }
};

template <typename Net>
NetworkWalk walk(Net& net) {
  NetworkWalk found;
  dlib::visit_layers_backwards(net, NetworkWalker(found));
  return found;
}

// dlib's forward(tensor) needs the input layer's sample expansion factor, which only to_tensor
// sets; one 1×1 image sets it to 1 (one tensor sample per image).
template <typename Net>
void prime_input(Net& net) {
  dlib::matrix<dlib::rgb_pixel> image(1, 1);
  image = dlib::rgb_pixel(0, 0, 0);
  dlib::resizable_tensor scratch;
  net.to_tensor(&image, &image + 1, scratch);
}

// The layer signature of a network type (no parameters are allocated).
template <typename Net>
std::vector<LayerSignature> signature_of() {
  Net net;
  return walk(net).signature;
}

// Everything of the trainer that does not depend on the network type (dlib_trainer.cpp).
class TrainerCore {
 public:
  TrainerCore(const TrainerConfig& config, std::string type_name);

 protected:
  // The spec layers with parameters, in spec order (paired with the walker's parameters).
  struct SpecParameterLayer {
    const model::Layer* layer = nullptr;
    const std::vector<model::ParameterShape>* tensors = nullptr;  // the analysis's, spec order
    std::vector<float> running_mean, running_var;  // batch_norm: PyTorch's convention
  };

  void check_batch(const data::Batch& batch, const char* what) const;
  void copy_input(const data::Batch& batch);
  void configure_layers();  // bias and eps from the spec, before dlib allocates anything
  void load(const model::Weights& weights);
  model::Weights save() const;
  void update_running_statistics();
  void optimizer_step();
  void fold_batch_norm(const std::vector<dlib::affine_*>& affine) const;
  // Softmax cross-entropy of `logits` (n × classes) against labels_ with label smoothing;
  // fills `gradient` (∂ mean loss / ∂ logits) when it is non-null.
  StepResult cross_entropy(const dlib::tensor& logits, double smoothing, dlib::tensor* gradient,
                           double* loss_sum, std::int64_t* correct);

  std::shared_ptr<const model::AnalysedModel> model_;
  const model::ModelSpec& spec_;  // model_->spec
  std::string type_name_;
  OptimizerConfig optimizer_config_;
  RecipeOptimizer optimizer_;
  int threads_ = 0;
  std::vector<ParameterLayer> parameters_;  // the training network's, forward order
  std::vector<LayerSignature> signature_;   // the training network's, forward order
  std::vector<SpecParameterLayer> spec_layers_;
  std::vector<ParameterState> states_;
  dlib::resizable_tensor input_, gradient_;
  std::vector<std::int64_t> labels_;  // of the batch in input_
  // Scratch reused by every step, so that a step allocates nothing of its own: the softmax of
  // one row (cross_entropy) and one layer's batch statistics (update_running_statistics).
  std::vector<double> probabilities_;
  std::vector<float> batch_mean_, batch_var_;
};

template <typename TrainNet, typename TestNet>
class DlibTrainer final : public Trainer, private TrainerCore {
 public:
  DlibTrainer(const TrainerConfig& config, std::string type_name)
      : TrainerCore(config, std::move(type_name)) {
    auto walker = walk(net_);
    signature_ = walker.signature;
    parameters_ = std::move(walker.parameters);
    configure_layers();
    // dlib allocates parameters on the first forward pass; two images keep bn_ in training mode.
    dlib::resizable_tensor probe(2, spec_.input.c, spec_.input.h, spec_.input.w);
    probe = 0;
    set_blas_threads(threads_);
    prime_input(net_);
    net_.forward(probe);
    load(*config.initial_weights);
  }

  data::Layout input_layout() const override { return data::Layout::nchw; }

  // Read from the built network: bn_'s eps and the compiled paddings; the rest is what
  // TrainerCore's running statistics, optimizer and loss do.
  std::vector<EffectiveSetting> effective_settings() const override {
    std::vector<double> eps, padding, momentum;
    for (const auto& p : parameters_) {
      if (p.eps) eps.push_back(p.eps());
    }
    for (const auto& s : signature_) {
      if (s.op == model::Op::conv2d) padding.push_back(s.padding);
    }
    for (const auto& l : spec_layers_) {
      if (l.layer->op == model::Op::batch_norm) momentum.push_back(l.layer->momentum);
    }
    return {{"batch_norm.eps", distinct_values(eps)},
            {"batch_norm.momentum", distinct_values(momentum) + " (running = (1 - m) running + m batch, the backend's own; dlib's window unused)"},
            {"batch_norm.running_var", "unbiased batch variance (the backend's own)"},
            {"weight_decay.applies_to", fmt::format("every trainable tensor, biases and batch-norm included ({} layers; RecipeOptimizer, dlib's multipliers unused)",
                                                    parameters_.size())},
            {"conv.padding", distinct_values(padding) + " (zeros, symmetric: con_'s template)"},
            {"loss.reduction", "mean over the batch (the backend's cross-entropy)"}};
  }

  std::int64_t parameter_count() const override {
    std::int64_t n = 0;
    for (const auto& p : parameters_) n += static_cast<std::int64_t>(p.params->size());
    return n;
  }

  void train_step(const data::Batch& batch) override {
    check_batch(batch, "train_step");
    if (batch.n < 2) {
      throw Unsupported(
          "dlib's bn_ computes batch statistics only for batches of 2 or more "
          "images; train_step got 1");
    }
    set_blas_threads(threads_);
    copy_input(batch);
    const dlib::tensor& logits = net_.forward(input_);
    gradient_.copy_size(logits);
    const StepResult result =
        cross_entropy(logits, optimizer_config_.label_smoothing, &gradient_, nullptr, nullptr);
    net_.back_propagate_error(input_, gradient_);
    update_running_statistics();
    optimizer_step();
    test_net_stale_ = true;
    unread_.push_back(result);  // on the host already: keeping it costs nothing
  }

  std::vector<StepResult> read_steps() override { return std::exchange(unread_, {}); }

  EvalResult evaluate(const data::Batch& batch) override {
    check_batch(batch, "evaluate");
    EvalResult result;
    cross_entropy(inference(batch), 0.0, nullptr, &result.loss_sum, &result.correct);
    result.count = batch.n;
    return result;
  }

  std::vector<float> logits(const data::Batch& batch) override {
    check_batch(batch, "logits");
    const dlib::tensor& out = inference(batch);
    return {out.begin(), out.end()};
  }

  void set_learning_rate(double lr) override { optimizer_.set_learning_rate(lr); }
  void sync() override {}  // dlib's CPU kernels return when done
  model::Weights export_weights() override { return save(); }
  void import_weights(const model::Weights& weights) override {
    load(weights);
    test_net_stale_ = true;
  }

 private:
  // The inference network: dlib's bn_ always normalizes with batch statistics when a batch has
  // more than one image, so evaluation runs a copy with affine_ layers in bn_'s place, whose
  // scale and shift the backend folds from the spec's running statistics.
  const dlib::tensor& inference(const data::Batch& batch) {
    set_blas_threads(threads_);
    if (test_net_stale_) {
      test_net_ = TestNet(net_);
      prime_input(test_net_);
      fold_batch_norm(walk(test_net_).affine_layers);
      test_net_stale_ = false;
    }
    copy_input(batch);
    return test_net_.forward(input_);
  }

  TrainNet net_;
  TestNet test_net_;
  bool test_net_stale_ = true;
  std::vector<StepResult> unread_;  // train_step's results until read_steps
};

}  // namespace cb::backends::dlib_backend
