// A model spec built from ATen's functional ops: named parameters and buffers (the spec's
// names) and a forward pass that walks the layers in order. Private to the torch backend.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/spec.h"
#include "model/weights.h"

namespace cb::backends::torch_backend {

// One tensor of the network under its spec name ("<layer>.weight", "<layer>.running_mean").
struct NamedParameter {
  std::string name;
  bool trainable = true;
  at::Tensor value;
};

class SpecNetwork {
 public:
  // Infers shapes, lays out every tensor the spec defines (zeros) and refuses an invalid spec
  // with an InputError naming the layer.
  SpecNetwork(const model::ModelSpec& spec, at::TensorOptions options);

  // Copies `weights` bit for bit; refuses missing, extra or misshapen tensors by name.
  void load(const model::Weights& weights);
  // Every tensor under its spec name, in spec order, as float32 row-major values.
  model::Weights save() const;

  // Logits (n × classes) of an NCHW batch; `training` selects batch statistics and dropout.
  at::Tensor forward(const at::Tensor& input, bool training) const;

  // Converts parameters and buffers to channels-last (4-D ones) or back.
  void set_channels_last(bool channels_last);

  const std::vector<NamedParameter>& tensors() const { return tensors_; }
  // The trainable tensors, in spec order (what the optimizer updates).
  std::vector<at::Tensor> trainable() const;
  std::int64_t trainable_count() const;

 private:
  // Indices into tensors_ for one layer (-1: absent).
  struct LayerTensors {
    int weight = -1, bias = -1, running_mean = -1, running_var = -1;
  };
  int add_tensor(const std::string& name, bool trainable, std::vector<std::int64_t> shape,
                 at::TensorOptions options);

  model::ModelSpec spec_;
  std::vector<NamedParameter> tensors_;
  std::vector<LayerTensors> layer_tensors_;  // one per spec layer
  std::vector<int> consumers_;               // how many layers read each layer's output
};

}  // namespace cb::backends::torch_backend
