// dlib's own training loop on one of the backend's compile-time network types, with none of the
// backend around it: the yardstick bench/dlib_wrapper_overhead measures DlibTrainer::train_step
// against (docs/backends/dlib.md, "Wrapper overhead"). Framework-free; the loop itself is in
// native_loop_net.h.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "backends/backend.h"
#include "data/batch.h"

namespace cb::backends::dlib_backend {

class NativeLoop {
 public:
  virtual ~NativeLoop() = default;
  // Converts `batches` into dlib tensors and dlib labels once (replacing earlier ones), so that
  // a step copies nothing: the loop is dlib at its leanest.
  virtual void set_batches(const std::vector<data::Batch>& batches) = 0;
  // One step on batch `index` of set_batches, in dlib's API only: the loss network's
  // compute_parameter_gradients (forward, dlib's softmax log loss, back-propagation), then
  // update_parameters with one dlib::sgd per layer (what dnn_trainer::train_one_step does on
  // one device, without its thread hand-off). Returns dlib's mean loss of the batch.
  virtual double train_step(std::size_t index) = 0;
  virtual void set_learning_rate(double lr) = 0;
};

// dlib's own loop on the network type the dlib backend builds for `config.model`, from
// `config.initial_weights`, with config.optimizer's momentum and weight decay and
// config.execution.threads BLAS threads. Throws Unsupported when this build has no native loop
// for the model (simple-cnn and resnet20 have one) or the optimizer is not sgd.
std::unique_ptr<NativeLoop> make_native_loop(const TrainerConfig& config);

// The network types with a native loop (each defined in its net_<model>.cpp).
std::unique_ptr<NativeLoop> simple_cnn_native_loop(const TrainerConfig& config);
std::unique_ptr<NativeLoop> resnet20_native_loop(const TrainerConfig& config);

}  // namespace cb::backends::dlib_backend
