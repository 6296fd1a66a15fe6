// The native loop (native_loop.h) of one compile-time network type: the network the backend
// trains, under dlib's own loss layer, stepped by dlib's own solver. It borrows TrainerCore only
// to configure and load the network exactly as DlibTrainer does (same bias, eps, output count and
// initial weights); a step runs dlib's code alone.
#pragma once

#include <dlib/dnn.h>

#include <string>
#include <vector>

#include "backends/dlib/dlib_network.h"
#include "backends/dlib/native_loop.h"

namespace cb::backends::dlib_backend {

template <typename Net>
class DlibNativeLoop final : public NativeLoop, private TrainerCore {
 public:
  using LossNet = dlib::loss_multiclass_log<Net>;

  DlibNativeLoop(const TrainerConfig& config, std::string type_name)
      : TrainerCore(config, std::move(type_name)) {
    if (config.optimizer.kind != OptimizerConfig::Kind::sgd) {
      throw Unsupported("dlib native loop: dlib's sgd solver stands for the recipe's sgd only");
    }
    // dlib's sgd: v = momentum v - weight_decay lr w - lr grad; w += v (no Nesterov form).
    solvers_.assign(LossNet::num_computational_layers,
                    dlib::sgd(static_cast<float>(config.optimizer.weight_decay),
                              static_cast<float>(config.optimizer.momentum)));
    Net& net = net_.subnet();
    auto walker = walk(net);
    signature_ = walker.signature;
    parameters_ = std::move(walker.parameters);
    configure_layers();
    dlib::resizable_tensor probe(2, spec_.input.c, spec_.input.h, spec_.input.w);
    probe = 0;
    set_blas_threads(threads_);
    prime_input(net);
    net.forward(probe);
    load(*config.initial_weights);
  }

  void set_batches(const std::vector<data::Batch>& batches) override {
    inputs_.assign(batches.size(), {});
    labels_of_.assign(batches.size(), {});
    for (std::size_t i = 0; i < batches.size(); ++i) {
      check_batch(batches[i], "native loop");
      const auto& b = batches[i];
      inputs_[i].set_size(b.n, b.c, b.h, b.w);
      std::copy(b.data.begin(), b.data.end(), inputs_[i].host_write_only());
      labels_of_[i].assign(b.labels.begin(), b.labels.end());
    }
  }

  double train_step(std::size_t index) override {
    if (index >= inputs_.size()) {
      throw CheckFailed(fmt::format("dlib native loop: batch {} of {}", index, inputs_.size()));
    }
    set_blas_threads(threads_);  // one cached call, as the trainer makes: both sides share BLAS
    const double loss = net_.compute_parameter_gradients(inputs_[index], labels_of_[index].begin());
    net_.update_parameters(solvers_, learning_rate_);
    return loss;
  }

  void set_learning_rate(double lr) override { learning_rate_ = lr; }

 private:
  LossNet net_;
  std::vector<dlib::sgd> solvers_;
  std::vector<dlib::resizable_tensor> inputs_;
  std::vector<std::vector<unsigned long>> labels_of_;
  double learning_rate_ = 0.0;
};

}  // namespace cb::backends::dlib_backend
