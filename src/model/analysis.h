// What a spec means before any framework builds it: shape inference (which also validates),
// the parameter tensors each layer owns, and parameter and FLOP counts per layer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/spec.h"

namespace cb::model {

// "conv2d", "batch_norm", ... (the names custom model files use).
std::string_view op_name(Op op);
// The Op for a name, or nothing if the name is unknown.
std::optional<Op> op_from_name(std::string_view name);
// Every op name, in enum order (for error messages and docs).
std::vector<std::string> op_names();

// The input indices a layer really reads: `inputs`, or the previous layer when empty.
std::vector<int> resolved_inputs(const ModelSpec& spec, int layer_index);

// Checks the spec and fills every layer's `out`. Throws cb::InputError naming the model, the
// layer (name, op and index) and what is wrong; the last layer must output num_classes × 1 × 1.
void infer_shapes(ModelSpec& spec);

// One tensor a layer owns, in the layout spec.h defines; values are not part of it.
struct ParameterShape {
  std::string name;  // "<layer>.weight", ...
  std::vector<std::int64_t> shape;
  bool trainable = true;  // false for batch-norm running statistics
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

}  // namespace cb::model
