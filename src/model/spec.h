// The framework-neutral model description every backend builds. A spec is a list of layers in
// topological order; each layer names its inputs by index (empty = the previous layer).
//
// Parameter naming and layout (the contract with every backend and the weights file):
//   conv2d      "<name>.weight" [out, in/groups, k, k] (OIHW, PyTorch's), "<name>.bias" [out]
//   batch_norm  "<name>.weight" [C], "<name>.bias" [C] (trainable), "<name>.running_mean" [C],
//               "<name>.running_var" [C] (buffers). Momentum follows PyTorch's convention:
//               running = (1 - momentum) * running + momentum * batch_stat, unbiased variance.
//   linear      "<name>.weight" [out, in], "<name>.bias" [out]
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cb::model {

enum class Op {
  input,            // the image; exactly one, first
  conv2d,           // kernel × kernel, stride, padding (zeros, symmetric), groups, bias
  batch_norm,       // over channels; momentum, eps; affine
  relu,
  max_pool,         // kernel, stride, padding
  avg_pool,         // kernel, stride, padding (count_include_pad = true)
  global_avg_pool,  // mean over H and W → C × 1 × 1
  flatten,          // C × H × W → (C·H·W) × 1 × 1
  linear,           // out_features, bias; input must be flat (H = W = 1)
  dropout,          // p (identity at evaluation)
  add,              // elementwise sum of two inputs of equal shape (residual)
  pad_channels,     // zero-pads channels to out_channels (ResNet option-A shortcut): the
                    // input's C channels first, then out - C zero channels (as dlib's add_prev
                    // pads; akamaster's LambdaLayer splits the zeros before/after instead)
  subsample,        // takes every stride-th pixel from (0, 0): out = (H - 1) / stride + 1
                    // (option-A shortcut's spatial half)
  scale,            // multiplies by a constant `scale` (e.g. airbench's logit temperature)
  gelu,             // the exact (erf) form, PyTorch's default
};
// How many ops there are: the last enumerator plus one (update it when appending an op).
inline constexpr std::size_t kOpCount = static_cast<std::size_t>(Op::gelu) + 1;

// Every op's name, in enum order: the names custom model files, `models` and error messages
// use. The one list of op names; the static_assert keeps it as long as the enum.
inline constexpr auto kOpNames = std::to_array<std::string_view>(
    {"input", "conv2d", "batch_norm", "relu", "max_pool", "avg_pool", "global_avg_pool",
     "flatten", "linear", "dropout", "add", "pad_channels", "subsample", "scale", "gelu"});
static_assert(kOpNames.size() == kOpCount, "kOpNames needs one name per Op, in enum order");

// "conv2d", "batch_norm", ...; "unknown" for a value outside the enum.
constexpr std::string_view op_name(Op op) {
  const auto i = static_cast<std::size_t>(op);
  return i < kOpNames.size() ? kOpNames[i] : std::string_view("unknown");
}
// The Op for a name, or nothing if the name is unknown.
constexpr std::optional<Op> op_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kOpNames.size(); ++i) {
    if (kOpNames[i] == name) return static_cast<Op>(i);
  }
  return std::nullopt;
}
// Every op name, in enum order (for error messages and docs).
inline std::vector<std::string> op_names() { return {kOpNames.begin(), kOpNames.end()}; }

// Output sizes: conv and pools use floor mode, out = (H + 2·padding - kernel) / stride + 1.
// Shape inference, counting (model::analyse) and the zoo live in model/analysis.h and
// model/zoo.h.

// Per-sample shape: channels × height × width (flat features are C × 1 × 1).
struct Shape {
  int c = 0, h = 0, w = 0;
  std::int64_t numel() const { return static_cast<std::int64_t>(c) * h * w; }
  bool operator==(const Shape&) const = default;
};

struct Layer {
  std::string name;         // unique; prefixes the layer's parameter names
  Op op = Op::input;
  std::vector<int> inputs;  // indices of earlier layers; empty means the previous layer
  // conv2d / pools / subsample
  int out_channels = 0;  // conv2d, pad_channels
  int kernel = 0;
  int stride = 1;
  int padding = 0;
  int groups = 1;
  bool bias = false;     // conv2d and linear
  // batch_norm
  double momentum = 0.1;
  double eps = 1e-5;
  bool affine = true;
  // linear
  int out_features = 0;
  // dropout / scale
  double p = 0.0;
  double scale = 1.0;
  // filled by shape inference (model::infer_shapes, model::analyse)
  Shape out;
};

struct ModelSpec {
  std::string name;
  std::string description;
  Shape input{3, 32, 32};
  int num_classes = 10;
  std::vector<Layer> layers;  // layers[0] is the input; the last layer's output is the logits
};

}  // namespace cb::model
