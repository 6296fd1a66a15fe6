// A model spec built from ATen's functional ops: named parameters and buffers (the spec's
// names) and a forward pass that walks the layers in order. Private to the torch backend.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/analysis.h"
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
  // Lays out every tensor the analysed model defines (zeros), in its shapes; the analysis
  // (model::analyse, run by the harness) has validated the spec and inferred every shape.
  SpecNetwork(std::shared_ptr<const model::AnalysedModel> model, at::TensorOptions options);

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
  int add_tensor(const model::ParameterShape& tensor, at::TensorOptions options);
  // Layer i's output from its first input `x` and the outputs so far (`outs`); `in_place`: x
  // may be overwritten (its only reader, and its op's backward does not need it).
  at::Tensor forward_layer(std::size_t i, const at::Tensor& x, std::vector<at::Tensor>& outs,
                           bool in_place, bool training) const;
  at::Tensor param(int index) const;

  std::shared_ptr<const model::AnalysedModel> model_;
  const model::ModelSpec& spec_;
  std::vector<NamedParameter> tensors_;
  std::vector<LayerTensors> layer_tensors_;  // one per spec layer
  std::vector<int> consumers_;               // how many layers read each layer's output
};

}  // namespace cb::backends::torch_backend
