// The pure translation from a model spec to a TensorFlow graph description: op types, names,
// attributes, input wiring, output shapes (NHWC, float32), variables and their layout
// conversions. No TensorFlow call here, so all of it is tested without TensorFlow; the thin
// layer in tf_graph.cpp turns the description into real operations.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "backends/backend.h"
#include "backends/tensorflow/tf_c_api.h"
#include "model/analysis.h"
#include "model/spec.h"
#include "model/weights.h"

namespace cb::backends::tf {

// A constant tensor attribute ("value" of a Const op).
struct ConstTensor {
  DataType dtype = DataType::float32;
  std::vector<std::int64_t> shape;
  std::vector<float> floats;        // float32 constants
  std::vector<std::int32_t> ints;   // int32 constants
};
struct ShapeAttr {
  std::vector<std::int64_t> dims;  // -1 = unknown
};
using AttrValue = std::variant<std::int64_t, std::vector<std::int64_t>, float, bool,
                               std::string, DataType, ShapeAttr, ConstTensor>;

// An op's input: output `index` of the op called `op`, or the gradient of trainable variable
// number `gradient_of` (in GraphPlan::trainable order), known once TF_AddGradients has run.
struct OpInput {
  std::string op;
  int index = 0;
  int gradient_of = -1;
  bool operator==(const OpInput&) const = default;
};

struct GraphOp {
  std::string type;  // the registered op name: "Conv2D", "FusedBatchNormV3", ...
  std::string name;  // unique in the graph
  std::vector<OpInput> inputs;
  std::map<std::string, AttrValue> attrs;
  std::vector<std::int64_t> shape;  // output 0's shape; -1 is the batch dimension
};

// How a spec tensor is laid out in its TensorFlow variable.
enum class WeightLayout {
  same,             // identical (biases, batch-norm vectors)
  oihw_to_hwio,     // conv2d: [out, in, kh, kw] → [kh, kw, in, out]
  out_in_to_in_out  // linear: [out, in] → [in, out]
};

struct VariablePlan {
  std::string spec_name;                  // "conv1.weight"
  bool trainable = true;
  WeightLayout layout = WeightLayout::same;
  std::vector<std::int64_t> spec_shape;   // as model/spec.h lays it out
  std::vector<std::int64_t> tf_shape;     // as the graph uses it
  std::string handle;                     // VarHandleOp
  std::string read;                       // ReadVariableOp (the value the forward pass uses)
  std::string init_value;                 // Placeholder fed when (re)loading the weights
  std::string init_assign;                // AssignVariableOp run when (re)loading
  std::string momentum_handle;            // trainable only: SGD's momentum, AdamW's exp_avg
  std::string momentum_init_assign;       // assigns zeros (ZerosLike) to the buffer
  std::string second_moment_handle;       // trainable, AdamW only: exp_avg_sq
  std::string second_moment_init_assign;  // assigns zeros to it
};

// A dropout layer's random mask shape, fed each training step as int32 [n, h, w, c].
struct DropoutMaskShape {
  std::string placeholder;
  std::vector<std::int64_t> per_sample;  // h, w, c
};

struct GraphPlan {
  // Built before TF_AddGradients: variables, the training and evaluation forward passes, the
  // loss; then `update_ops`, which consume gradients (OpInput::gradient_of).
  std::vector<GraphOp> forward_ops;
  std::vector<GraphOp> update_ops;
  std::vector<VariablePlan> variables;  // spec order; weights and buffers
  std::vector<int> trainable;           // indices into `variables` whose gradients we need
  std::string images;                   // Placeholder float [-1, H, W, C]
  std::string targets;                  // Placeholder float [-1, classes] (smoothed one-hot)
  std::string learning_rate;            // Placeholder float scalar
  std::vector<DropoutMaskShape> dropout_masks;
  OpInput train_logits;                 // [-1, classes], training mode
  OpInput eval_logits;                  // [-1, classes], inference mode (shares variables)
  OpInput loss;                         // scalar mean cross-entropy (training mode)
  std::vector<std::string> step_targets;  // ops a training step runs (applies, BN updates)
  // AdamW only: scalar placeholders fed every step with adamw_scalars().
  std::string adam_decay_factor;        // 1 − lr·weight_decay
  std::string adam_step_size;           // lr / (1 − beta1^t)
  std::string adam_sqrt_correction2;    // √(1 − beta2^t)
  int num_classes = 0;
};

// Options the translation depends on.
struct PlanOptions {
  OptimizerConfig optimizer;
  std::uint64_t seed = 0;      // the trial's seed: every random op's seed and seed2 derive from it
  bool deterministic = false;  // build the loss from ops with deterministic GPU kernels
};

// The seed attributes of random ops: TensorFlow draws a fresh seed when seed = seed2 = 0, and
// refuses that when op determinism is on. A function of the trial's seed and `stream` (the
// random op's index; 0 for the graph-level `seed`), never 0, in [1, 2^31 − 1].
std::int64_t random_op_seed(std::uint64_t trial_seed, std::uint64_t stream);

// AdamW's per-step scalars for step `step` (1 for the first) at learning rate `lr`.
struct AdamwScalars {
  float decay_factor = 1;     // 1 − lr·weight_decay
  float step_size = 0;        // lr / (1 − beta1^step)
  float sqrt_correction2 = 1; // √(1 − beta2^step)
};
AdamwScalars adamw_scalars(const OptimizerConfig& optimizer, double lr, std::int64_t step);

// Translates an analysed model (model::analyse: valid, every shape inferred; nothing is
// inferred again here) into a graph plan. Throws cb::Unsupported for what this backend cannot
// express (the message names the layer).
GraphPlan plan_graph(const model::AnalysedModel& model, const PlanOptions& options);

// Why `model` cannot be planned, or nullopt.
std::optional<std::string> unsupported_reason(const model::AnalysedModel& model,
                                              const OptimizerConfig& optimizer);

// Whether TensorFlow's "SAME" padding equals the spec's symmetric `padding` for this window on
// an input of `size` (same output size and the same padding before the first window).
bool same_padding_matches(int size, int kernel, int stride, int padding);

// Layout conversions between the spec's tensors and the variables' (exact permutations).
std::vector<float> to_tf_layout(const std::vector<float>& values,
                                const std::vector<std::int64_t>& spec_shape, WeightLayout layout);
std::vector<float> from_tf_layout(const std::vector<float>& values,
                                  const std::vector<std::int64_t>& spec_shape,
                                  WeightLayout layout);

// Cross-entropy targets: (1 - s) one-hot + s / classes, row-major n × classes.
std::vector<float> smoothed_targets(const std::vector<std::int64_t>& labels, int classes,
                                    double smoothing);

// Summed (unsmoothed) cross-entropy and correct count of n × classes logits.
EvalResult score_logits(const std::vector<float>& logits, const std::vector<std::int64_t>& labels,
                        int classes);

// Where TensorFlow registers the C++ gradient (tensorflow/cc/gradients/<file>) of each op type
// the plan can place between a trainable variable and the loss; TF_AddGradients fails on others.
const std::map<std::string, std::string>& registered_cpp_gradients();

}  // namespace cb::backends::tf
