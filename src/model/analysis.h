// What a spec means before any framework builds it: shape inference (which also validates),
// the parameter tensors each layer owns, and parameter and FLOP counts per layer. The harness
// runs it once per trial (analyse) and hands the result to the backend, so that no backend
// infers shapes again. Op names live beside the Op enum, in model/spec.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/spec.h"

namespace cb::model {

// The input indices a layer really reads: `inputs`, or the previous layer when empty.
std::vector<int> resolved_inputs(const ModelSpec& spec, int layer_index);

// Checks the spec and fills every layer's `out`. Throws cb::InputError naming the model, the
// layer (name, op and index) and what is wrong; the last layer must output num_classes × 1 × 1.
void infer_shapes(ModelSpec& spec);

// Which of its layer's tensors a parameter is (the suffix of its name).
enum class TensorRole { weight, bias, running_mean, running_var };

// One tensor a layer owns, in the layout spec.h defines; values are not part of it.
struct ParameterShape {
  std::string name;  // "<layer>.weight", ...
  std::vector<std::int64_t> shape;
  bool trainable = true;  // false for batch-norm running statistics
  TensorRole role = TensorRole::weight;
};
// The tensors of every layer, in layer order (weight, bias, running_mean, running_var).
// Needs inferred shapes (call infer_shapes first).
std::vector<ParameterShape> parameter_shapes(const ModelSpec& spec);

// Per-layer cost. FLOPs per image for the forward pass; a multiply-add counts 2 (docs/models.md
// lists what every op counts).
struct LayerCost {
  std::int64_t parameters = 0;  // trainable values (batch-norm running statistics excluded)
  std::int64_t buffers = 0;     // non-trainable values (running statistics)
  std::int64_t flops = 0;
};
// One entry per layer, in layer order. Needs inferred shapes.
std::vector<LayerCost> layer_costs(const ModelSpec& spec);
// Totals over every layer. Need inferred shapes.
std::int64_t parameter_count(const ModelSpec& spec);
std::int64_t flop_count(const ModelSpec& spec);

// One layer of an analysed model: everything a backend needs to build it without inferring.
struct LayerAnalysis {
  std::vector<int> inputs;  // the layers it reads, resolved (empty only for the input layer)
  Shape in;                 // its first input's shape (the input layer: the image's)
  Shape out;                // its output's shape (equal to the spec layer's `out`)
  std::vector<ParameterShape> tensors;  // the tensors it owns, in parameter_shapes order
  LayerCost cost;
};

// A spec with everything the analysis knows about it, computed once (analyse) and handed to
// every backend through TrainerConfig::model: the harness's one shape inference.
struct AnalysedModel {
  ModelSpec spec;                     // validated; every layer's `out` filled
  std::vector<LayerAnalysis> layers;  // one per spec layer, in spec order
  std::int64_t parameters = 0;        // trainable values (parameter_count)
  std::int64_t buffers = 0;           // non-trainable values (running statistics)
  std::int64_t flops = 0;             // per image, forward pass (flop_count)
  // Every tensor of every layer, in spec order (what parameter_shapes returns).
  std::vector<ParameterShape> tensors() const;
};

// Checks `spec` (throwing infer_shapes' InputError, naming the layer) and analyses it.
AnalysedModel analyse(const ModelSpec& spec);

}  // namespace cb::model
