#include "backends/tensorflow/graph_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <tuple>

#include "core/error.h"

namespace cb::backends::tf {
namespace {

using model::Layer;
using model::Op;

// A layer's output while building: a 4-D NHWC tensor [n, h, w, c], or a flat [n, c] one.
struct Value {
  OpInput out;
  int c = 0, h = 1, w = 1;
  bool flat = false;
};

std::vector<std::int64_t> shape_of(const Value& v) {
  if (v.flat) return {-1, v.c};
  return {-1, v.h, v.w, v.c};
}

// TensorFlow op names allow [A-Za-z0-9_.\-/]; anything else in a spec name becomes '_'.
std::string sanitized(const std::string& name) {
  std::string out = name;
  for (char& ch : out) {
    const bool ok = std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' ||
                    ch == '-' || ch == '/';
    if (!ok) ch = '_';
  }
  return out;
}

int window_output(int size, int kernel, int stride, int padding) {
  return (size + 2 * padding - kernel) / stride + 1;
}

class PlanBuilder {
 public:
  PlanBuilder(const model::AnalysedModel& model, const PlanOptions& options)
      : model_(model), spec_(model.spec), options_(options) {}

  GraphPlan build() {
    plan_.num_classes = spec_.num_classes;
    add_placeholders();
    add_variables();
    const Value train = forward(true);
    plan_.train_logits = logits_of(train, "train");
    const Value eval = forward(false);
    plan_.eval_logits = logits_of(eval, "eval");
    add_loss();
    if (options_.optimizer.kind == OptimizerConfig::Kind::adamw) {
      add_adamw_updates();
    } else {
      add_sgd_updates();
    }
    return std::move(plan_);
  }

 private:
  // ---- op creation ------------------------------------------------------------------------
  OpInput add(std::vector<GraphOp>& list, GraphOp op) {
    if (!names_.insert(op.name).second) {
      throw Unsupported(fmt::format(
          "model '{}': two TensorFlow operations would be named '{}' (rename a layer)",
          spec_.name, op.name));
    }
    list.push_back(std::move(op));
    return {list.back().name, 0};
  }
  OpInput add(GraphOp op) { return add(plan_.forward_ops, std::move(op)); }

  OpInput const_int32(const std::string& name, std::vector<std::int64_t> shape,
                      std::vector<std::int32_t> values) {
    ConstTensor t{DataType::int32, shape, {}, std::move(values)};
    return add({"Const", name, {}, {{"dtype", DataType::int32}, {"value", t}}, shape});
  }
  OpInput const_float(const std::string& name, std::vector<std::int64_t> shape,
                      std::vector<float> values) {
    ConstTensor t{DataType::float32, shape, std::move(values), {}};
    return add({"Const", name, {}, {{"dtype", DataType::float32}, {"value", t}}, shape});
  }
  OpInput scalar(const std::string& name, double value) {
    return const_float(name, {}, {static_cast<float>(value)});
  }
  static std::map<std::string, AttrValue> typed(std::map<std::string, AttrValue> attrs = {}) {
    attrs.emplace("T", DataType::float32);
    return attrs;
  }

  // ---- placeholders and variables ----------------------------------------------------------
  void add_placeholders() {
    const auto& in = spec_.input;
    std::vector<std::int64_t> image_shape{-1, in.h, in.w, in.c};
    plan_.images = add({"Placeholder", "images", {},
                        {{"dtype", DataType::float32}, {"shape", ShapeAttr{image_shape}}},
                        image_shape}).op;
    std::vector<std::int64_t> target_shape{-1, spec_.num_classes};
    plan_.targets = add({"Placeholder", "targets", {},
                         {{"dtype", DataType::float32}, {"shape", ShapeAttr{target_shape}}},
                         target_shape}).op;
    plan_.learning_rate = add({"Placeholder", "learning_rate", {},
                               {{"dtype", DataType::float32}, {"shape", ShapeAttr{{}}}},
                               {}}).op;
  }

  void add_variable(const std::string& spec_name, bool trainable, WeightLayout layout,
                    std::vector<std::int64_t> spec_shape) {
    VariablePlan v;
    v.spec_name = spec_name;
    v.trainable = trainable;
    v.layout = layout;
    v.spec_shape = spec_shape;
    v.tf_shape = spec_shape;
    if (layout == WeightLayout::oihw_to_hwio) {
      v.tf_shape = {spec_shape[2], spec_shape[3], spec_shape[1], spec_shape[0]};
    } else if (layout == WeightLayout::out_in_to_in_out) {
      v.tf_shape = {spec_shape[1], spec_shape[0]};
    }
    const std::string base = "var/" + sanitized(spec_name);
    const auto handle = add({"VarHandleOp", base, {},
                             {{"dtype", DataType::float32}, {"shape", ShapeAttr{v.tf_shape}},
                              {"shared_name", base}, {"container", std::string()}},
                             {}});
    v.handle = handle.op;
    v.read = add({"ReadVariableOp", base + "/read", {handle}, {{"dtype", DataType::float32}},
                  v.tf_shape}).op;
    const auto init = add({"Placeholder", base + "/init_value", {},
                           {{"dtype", DataType::float32}, {"shape", ShapeAttr{v.tf_shape}}},
                           v.tf_shape});
    v.init_value = init.op;
    v.init_assign = add({"AssignVariableOp", base + "/init", {handle, init},
                         {{"dtype", DataType::float32}}, {}}).op;
    if (trainable) {
      const auto momentum = add({"VarHandleOp", base + "/momentum", {},
                                 {{"dtype", DataType::float32},
                                  {"shape", ShapeAttr{v.tf_shape}},
                                  {"shared_name", base + "/momentum"},
                                  {"container", std::string()}},
                                 {}});
      v.momentum_handle = momentum.op;
      const auto zeros = add({"ZerosLike", base + "/momentum/zeros", {{v.read, 0}}, typed(),
                              v.tf_shape});
      v.momentum_init_assign = add({"AssignVariableOp", base + "/momentum/init",
                                    {momentum, zeros}, {{"dtype", DataType::float32}}, {}}).op;
      if (options_.optimizer.kind == OptimizerConfig::Kind::adamw) add_second_moment(v, base);
      plan_.trainable.push_back(static_cast<int>(plan_.variables.size()));
    }
    variable_index_[spec_name] = static_cast<int>(plan_.variables.size());
    plan_.variables.push_back(std::move(v));
  }

  // AdamW's exp_avg_sq buffer (exp_avg is the momentum buffer), zeroed like it.
  void add_second_moment(VariablePlan& v, const std::string& base) {
    const auto handle = add({"VarHandleOp", base + "/exp_avg_sq", {},
                             {{"dtype", DataType::float32}, {"shape", ShapeAttr{v.tf_shape}},
                              {"shared_name", base + "/exp_avg_sq"},
                              {"container", std::string()}},
                             {}});
    v.second_moment_handle = handle.op;
    const auto zeros = add({"ZerosLike", base + "/exp_avg_sq/zeros", {{v.read, 0}}, typed(),
                            v.tf_shape});
    v.second_moment_init_assign = add({"AssignVariableOp", base + "/exp_avg_sq/init",
                                       {handle, zeros}, {{"dtype", DataType::float32}}, {}}).op;
  }

  OpInput read(const std::string& spec_name) {
    return {plan_.variables.at(static_cast<std::size_t>(variable_index_.at(spec_name))).read, 0};
  }
  const VariablePlan& variable(const std::string& spec_name) {
    return plan_.variables.at(static_cast<std::size_t>(variable_index_.at(spec_name)));
  }

  // Every layer's tensors, in the shapes the analysis gave them, in spec order.
  void add_variables() {
    for (std::size_t i = 1; i < spec_.layers.size(); ++i) {
      const Layer& l = spec_.layers[i];
      if (l.op == Op::conv2d && l.groups != 1) {
        throw Unsupported(fmt::format(
            "model '{}', layer '{}': grouped convolution (groups = {}) is not supported by "
            "the TensorFlow backend",
            spec_.name, l.name, l.groups));
      }
      for (const auto& t : model_.layers[i].tensors) {
        WeightLayout layout = WeightLayout::same;
        if (t.role == model::TensorRole::weight && l.op == Op::conv2d) {
          layout = WeightLayout::oihw_to_hwio;
        } else if (t.role == model::TensorRole::weight && l.op == Op::linear) {
          layout = WeightLayout::out_in_to_in_out;
        }
        add_variable(t.name, t.trainable, layout, t.shape);
      }
    }
  }

  // The layer that input `k` of layer `layer` reads (the analysis resolved and checked it).
  std::size_t input_index(std::size_t layer, std::size_t k) const {
    return static_cast<std::size_t>(model_.layers[layer].inputs.at(k));
  }

  // ---- forward pass --------------------------------------------------------------------------
  Value as_4d(const Value& x, const std::string& name) {
    if (!x.flat) return x;
    Value y = x;
    y.flat = false;
    const auto shape = const_int32(name + "/shape", {4}, {-1, 1, 1, x.c});
    y.out = add({"Reshape", name, {x.out, shape}, typed({{"Tshape", DataType::int32}}),
                 shape_of(y)});
    return y;
  }
  Value as_flat(const Value& x, const std::string& name) {
    if (x.flat) return x;
    Value y{{}, x.c * x.h * x.w, 1, 1, true};
    OpInput source = x.out;
    if (x.h * x.w > 1) {
      // PyTorch flattens C×H×W; NHWC must be transposed to NCHW first so the order matches.
      const auto perm = const_int32(name + "/nchw_perm", {4}, {0, 3, 1, 2});
      source = add({"Transpose", name + "/nchw", {x.out, perm},
                    typed({{"Tperm", DataType::int32}}), {-1, x.c, x.h, x.w}});
    }
    const auto shape = const_int32(name + "/shape", {2}, {-1, y.c});
    y.out = add({"Reshape", name, {source, shape}, typed({{"Tshape", DataType::int32}}),
                 shape_of(y)});
    return y;
  }

  // Explicit spatial padding (Pad, or PadV2 with `fill`), for a VALID window after it.
  Value pad_spatial(const Value& x, int padding, const std::string& name,
                    std::optional<float> fill) {
    Value y = x;
    y.h += 2 * padding;
    y.w += 2 * padding;
    const auto paddings =
        const_int32(name + "/paddings", {4, 2}, {0, 0, padding, padding, padding, padding, 0, 0});
    if (fill) {
      const auto value = scalar(name + "/fill", *fill);
      y.out = add({"PadV2", name, {x.out, paddings, value},
                   typed({{"Tpaddings", DataType::int32}}), shape_of(y)});
    } else {
      y.out = add({"Pad", name, {x.out, paddings}, typed({{"Tpaddings", DataType::int32}}),
                   shape_of(y)});
    }
    return y;
  }

  // The padding attribute to use after deciding on explicit padding ("SAME" or "VALID").
  std::string window_padding(Value& x, const Layer& l, const std::string& base,
                             std::optional<float> fill, bool same_allowed) {
    if (l.padding == 0) return "VALID";
    if (same_allowed && same_padding_matches(x.h, l.kernel, l.stride, l.padding) &&
        same_padding_matches(x.w, l.kernel, l.stride, l.padding)) {
      return "SAME";
    }
    x = pad_spatial(x, l.padding, base + "/pad", fill);
    return "VALID";
  }

  // Layer i's operations; `values` holds every earlier layer's output in this pass.
  Value forward_layer(std::size_t i, const std::vector<Value>& values, bool training,
                      const std::string& mode) {
    const Layer& l = spec_.layers[i];
    const std::string base = mode + "/" + sanitized(l.name);
    const Value& x = values[input_index(i, 0)];
    const model::Shape& out = model_.layers[i].out;
    const Value y{{}, out.c, out.h, out.w, x.flat};
    switch (l.op) {
      case Op::input:
        break;
      case Op::conv2d:
        return conv2d(l, x, y, base);
      case Op::batch_norm:
        return batch_norm(l, x, base, training);
      case Op::relu:
        return unary(y, {"Relu", base, {x.out}, typed(), shape_of(y)});
      case Op::max_pool:
      case Op::avg_pool:
        return pool(l, x, y, base);
      case Op::global_avg_pool:
        return global_avg_pool(x, y, base);
      case Op::flatten:
        return as_flat(x, base);
      case Op::linear:
        return linear(l, x, y, base);
      case Op::dropout:
        return dropout(l, x, base, training);
      case Op::add:
        return add_inputs(x, values[input_index(i, 1)], y, base);
      case Op::pad_channels:
        return pad_channels(l, x, y, base);
      case Op::subsample:
        return subsample(l, x, y, base);
      case Op::scale:
        return unary(y, {"Mul", base, {x.out, scalar(base + "/factor", l.scale)}, typed(),
                         shape_of(y)});
      case Op::gelu:
        return gelu(x, y, base);
    }
    throw Unsupported(fmt::format("model '{}', layer '{}': op {} is not supported", spec_.name,
                                  l.name, model::op_name(l.op)));
  }

  // `y` computed by the one operation `op`.
  Value unary(Value y, GraphOp op) {
    y.out = add(std::move(op));
    return y;
  }

  Value conv2d(const Layer& l, Value x, Value y, const std::string& base) {
    x = as_4d(x, base + "/to_4d");
    y.flat = false;
    const std::string padding = window_padding(x, l, base, std::nullopt, true);
    const std::vector<std::int64_t> strides{1, l.stride, l.stride, 1};
    y.out = add({"Conv2D", base, {x.out, read(l.name + ".weight")},
                 typed({{"strides", strides}, {"padding", padding},
                        {"data_format", std::string("NHWC")},
                        {"dilations", std::vector<std::int64_t>{1, 1, 1, 1}},
                        {"use_cudnn_on_gpu", true}}),
                 shape_of(y)});
    return with_bias(l, y, base);
  }

  // Adds the layer's bias, when it has one, to the NHWC or flat `y`.
  Value with_bias(const Layer& l, Value y, const std::string& base) {
    if (l.bias) {
      y.out = add({"BiasAdd", base + "/bias", {y.out, read(l.name + ".bias")},
                   typed({{"data_format", std::string("NHWC")}}), shape_of(y)});
    }
    return y;
  }

  Value batch_norm(const Layer& l, Value x, const std::string& base, bool training) {
    const bool was_flat = x.flat;
    x = as_4d(x, base + "/to_4d");
    const OpInput scale = l.affine ? read(l.name + ".weight")
                                   : const_float(base + "/unit_scale", {x.c},
                                                 std::vector<float>(x.c, 1.0f));
    const OpInput offset = l.affine ? read(l.name + ".bias")
                                    : const_float(base + "/zero_offset", {x.c},
                                                  std::vector<float>(x.c, 0.0f));
    Value bn = x;
    // exponential_avg_factor is PyTorch's momentum: running = (1-f)·running + f·batch.
    bn.out = add({"FusedBatchNormV3", base,
                  {x.out, scale, offset, read(l.name + ".running_mean"),
                   read(l.name + ".running_var")},
                  typed({{"U", DataType::float32},
                         {"epsilon", static_cast<float>(l.eps)},
                         {"exponential_avg_factor",
                          static_cast<float>(training ? l.momentum : 1.0)},
                         {"data_format", std::string("NHWC")},
                         {"is_training", training}}),
                  shape_of(bn)});
    if (training) {
      for (const auto& [stat, index] :
           {std::pair{std::string("running_mean"), 1}, std::pair{std::string("running_var"), 2}}) {
        const auto& var = variable(l.name + "." + stat);
        plan_.step_targets.push_back(
            add({"AssignVariableOp", base + "/update_" + stat,
                 {{var.handle, 0}, {bn.out.op, index}}, {{"dtype", DataType::float32}}, {}})
                .op);
      }
    }
    return was_flat ? as_flat(bn, base + "/to_flat") : bn;
  }

  Value pool(const Layer& l, Value x, Value y, const std::string& base) {
    x = as_4d(x, base + "/to_4d");
    y.flat = false;
    const bool is_max = l.op == Op::max_pool;
    // Max pooling pads with the lowest float (never chosen); average pooling with zeros
    // that count in the mean (count_include_pad), which TF's SAME would not do.
    const std::string padding = window_padding(
        x, l, base, is_max ? std::optional<float>(std::numeric_limits<float>::lowest())
                           : std::nullopt,
        is_max);
    const std::vector<std::int64_t> window{1, l.kernel, l.kernel, 1};
    const std::vector<std::int64_t> strides{1, l.stride, l.stride, 1};
    y.out = add({is_max ? "MaxPool" : "AvgPool", base, {x.out},
                 typed({{"ksize", window}, {"strides", strides}, {"padding", padding},
                        {"data_format", std::string("NHWC")}}),
                 shape_of(y)});
    return y;
  }

  Value global_avg_pool(const Value& x, Value y, const std::string& base) {
    if (x.flat) return x;
    const auto axes = const_int32(base + "/axes", {2}, {1, 2});
    y.out = add({"Mean", base, {x.out, axes},
                 typed({{"Tidx", DataType::int32}, {"keep_dims", true}}), shape_of(y)});
    return y;
  }

  Value linear(const Layer& l, Value x, Value y, const std::string& base) {
    x = as_flat(x, base + "/flat");
    y.flat = true;
    y.out = add({"MatMul", base, {x.out, read(l.name + ".weight")},
                 typed({{"transpose_a", false}, {"transpose_b", false}}), shape_of(y)});
    return with_bias(l, y, base);
  }

  Value dropout(const Layer& l, const Value& x, const std::string& base, bool training) {
    if (!training || l.p <= 0.0) return x;
    std::vector<std::int64_t> per_sample;
    if (x.flat) {
      per_sample = {x.c};
    } else {
      per_sample = {x.h, x.w, x.c};
    }
    const std::int64_t rank = static_cast<std::int64_t>(per_sample.size()) + 1;
    const auto mask_shape = add({"Placeholder", base + "/mask_shape", {},
                                 {{"dtype", DataType::int32}, {"shape", ShapeAttr{{rank}}}},
                                 {rank}});
    plan_.dropout_masks.push_back({mask_shape.op, per_sample});
    // The mask's shape is fed, not taken from x, so the mask is off the gradient path.
    const auto uniform = add({"RandomUniform", base + "/uniform", {mask_shape},
                              {{"dtype", DataType::float32}, {"T", DataType::int32},
                               {"seed", random_op_seed(options_.seed, 0)},
                               {"seed2", random_op_seed(options_.seed,
                                                        plan_.dropout_masks.size())}},
                              shape_of(x)});
    const auto keep = add({"GreaterEqual", base + "/keep", {uniform, scalar(base + "/p", l.p)},
                           typed(), shape_of(x)});
    const auto mask = add({"Cast", base + "/mask", {keep},
                           {{"SrcT", DataType::boolean}, {"DstT", DataType::float32},
                            {"Truncate", false}},
                           shape_of(x)});
    const auto kept = add({"Mul", base + "/apply", {x.out, mask}, typed(), shape_of(x)});
    Value y = x;
    y.out = add({"Mul", base, {kept, scalar(base + "/rescale", 1.0 / (1.0 - l.p))}, typed(),
                 shape_of(x)});
    return y;
  }

  Value add_inputs(Value x, Value other, Value y, const std::string& base) {
    if (x.flat != other.flat) {
      x = as_4d(x, base + "/lhs_4d");
      other = as_4d(other, base + "/rhs_4d");
    }
    y.flat = x.flat;
    y.out = add({"AddV2", base, {x.out, other.out}, typed(), shape_of(y)});
    return y;
  }

  Value pad_channels(const Layer& l, const Value& x, Value y, const std::string& base) {
    const std::int32_t extra = l.out_channels - x.c;
    const auto paddings =
        x.flat ? const_int32(base + "/paddings", {2, 2}, {0, 0, 0, extra})
               : const_int32(base + "/paddings", {4, 2}, {0, 0, 0, 0, 0, 0, 0, extra});
    y.out = add({"Pad", base, {x.out, paddings}, typed({{"Tpaddings", DataType::int32}}),
                 shape_of(y)});
    return y;
  }

  Value subsample(const Layer& l, const Value& x, Value y, const std::string& base) {
    if (x.flat || l.stride == 1) return x;
    const auto zeros = const_int32(base + "/begin", {4}, {0, 0, 0, 0});
    const auto ends = const_int32(base + "/end", {4}, {0, 0, 0, 0});
    const auto strides = const_int32(base + "/strides", {4}, {1, l.stride, l.stride, 1});
    y.out = add({"StridedSlice", base, {x.out, zeros, ends, strides},
                 typed({{"Index", DataType::int32},
                        {"begin_mask", std::int64_t{15}},
                        {"end_mask", std::int64_t{15}},
                        {"ellipsis_mask", std::int64_t{0}},
                        {"new_axis_mask", std::int64_t{0}},
                        {"shrink_axis_mask", std::int64_t{0}}}),
                 shape_of(y)});
    return y;
  }

  // Exact GELU, x·½(1 + erf(x/√2)) as PyTorch's default; TF's Gelu op has no C++ gradient.
  Value gelu(const Value& x, Value y, const std::string& base) {
    const auto scaled = add({"Mul", base + "/x_over_sqrt2",
                             {x.out, scalar(base + "/inv_sqrt2", 1.0 / std::sqrt(2.0))},
                             typed(), shape_of(y)});
    const auto erf = add({"Erf", base + "/erf", {scaled}, typed(), shape_of(y)});
    const auto one_plus =
        add({"AddV2", base + "/one_plus", {erf, scalar(base + "/one", 1.0)}, typed(),
             shape_of(y)});
    const auto times_x = add({"Mul", base + "/times_x", {x.out, one_plus}, typed(),
                              shape_of(y)});
    y.out = add({"Mul", base, {times_x, scalar(base + "/half", 0.5)}, typed(), shape_of(y)});
    return y;
  }

  Value forward(bool training) {
    const std::string mode = training ? "train" : "eval";
    std::vector<Value> values(spec_.layers.size());
    values[0] = {{plan_.images, 0}, spec_.input.c, spec_.input.h, spec_.input.w, false};
    for (std::size_t i = 1; i < spec_.layers.size(); ++i) {
      values[i] = forward_layer(i, values, training, mode);
    }
    return values.back();
  }

  OpInput logits_of(const Value& last, const std::string& mode) {
    if (last.c * last.h * last.w != spec_.num_classes) {
      throw InputError(fmt::format("model '{}': the last layer has {}×{}×{} outputs, not {} "
                                   "classes", spec_.name, last.c, last.h, last.w,
                                   spec_.num_classes));
    }
    return as_flat(last, mode + "/logits").out;
  }

  // Mean cross-entropy of the training logits against the fed (smoothed) targets. With
  // determinism on, SoftmaxCrossEntropyWithLogits' GPU kernel refuses to run (core/kernels/
  // xent_op.cc), so the loss is built as TensorFlow's Python API builds it then:
  // -Sum(targets · LogSoftmax(logits), axis 1), whose ops have deterministic kernels and
  // registered C++ gradients (d/dlogits = softmax · Σtargets − targets = softmax − targets).
  void add_loss() {
    OpInput xent;
    if (options_.deterministic) {
      const auto log_probs = add({"LogSoftmax", "loss/log_softmax", {plan_.train_logits},
                                  typed(), {-1, spec_.num_classes}});
      const auto weighted = add({"Mul", "loss/weighted", {{plan_.targets, 0}, log_probs},
                                 typed(), {-1, spec_.num_classes}});
      const auto classes = const_int32("loss/class_axis", {1}, {1});
      const auto sum = add({"Sum", "loss/sum", {weighted, classes},
                            typed({{"Tidx", DataType::int32}, {"keep_dims", false}}), {-1}});
      xent = add({"Neg", "loss/xent", {sum}, typed(), {-1}});
    } else {
      xent = add({"SoftmaxCrossEntropyWithLogits", "loss/xent",
                  {plan_.train_logits, {plan_.targets, 0}}, typed(), {-1}});
    }
    const auto axis = const_int32("loss/axis", {1}, {0});
    plan_.loss = add({"Mean", "loss/mean", {xent, axis},
                      typed({{"Tidx", DataType::int32}, {"keep_dims", false}}), {}});
  }

  // SGD exactly as OptimizerConfig defines it: g = grad + wd·w, then ResourceApplyMomentum,
  // whose update (accum = m·accum + g; w -= lr·(nesterov ? g + m·accum : accum)) is PyTorch's.
  void add_sgd_updates() {
    const auto& opt = options_.optimizer;
    const auto momentum = add(plan_.update_ops, {"Const", "update/momentum", {},
                                                 {{"dtype", DataType::float32},
                                                  {"value", ConstTensor{DataType::float32, {},
                                                                        {static_cast<float>(opt.momentum)}, {}}}},
                                                 {}});
    OpInput decay;
    if (opt.weight_decay != 0.0) {
      decay = add(plan_.update_ops, {"Const", "update/weight_decay", {},
                                     {{"dtype", DataType::float32},
                                      {"value", ConstTensor{DataType::float32, {},
                                                            {static_cast<float>(opt.weight_decay)}, {}}}},
                                     {}});
    }
    for (std::size_t j = 0; j < plan_.trainable.size(); ++j) {
      const auto& v = plan_.variables[static_cast<std::size_t>(plan_.trainable[j])];
      const std::string base = "update/" + sanitized(v.spec_name);
      OpInput grad{"", 0, static_cast<int>(j)};
      if (opt.weight_decay != 0.0) {
        const auto decayed = add(plan_.update_ops, {"Mul", base + "/decay", {{v.read, 0}, decay},
                                                    typed(), v.tf_shape});
        grad = add(plan_.update_ops, {"AddV2", base + "/grad", {grad, decayed}, typed(),
                                      v.tf_shape});
      }
      plan_.step_targets.push_back(
          add(plan_.update_ops,
              {"ResourceApplyMomentum", base,
               {{v.handle, 0}, {v.momentum_handle, 0}, {plan_.learning_rate, 0}, grad, momentum},
               typed({{"use_locking", false}, {"use_nesterov", opt.nesterov}}), {}})
              .op);
    }
  }

  OpInput update_scalar(const std::string& name, double value) {
    return add(plan_.update_ops,
               {"Const", name, {},
                {{"dtype", DataType::float32},
                 {"value", ConstTensor{DataType::float32, {}, {static_cast<float>(value)}, {}}}},
                {}});
  }
  OpInput update_placeholder(const std::string& name) {
    return add(plan_.update_ops, {"Placeholder", name, {},
                                  {{"dtype", DataType::float32}, {"shape", ShapeAttr{{}}}}, {}});
  }
  OpInput update_op(const char* type, const std::string& name, std::vector<OpInput> inputs,
                    const std::vector<std::int64_t>& shape) {
    return add(plan_.update_ops, {type, name, std::move(inputs), typed(), shape});
  }

  // AdamW exactly as OptimizerConfig (and the torch backend) define it, from plain ops:
  //   m = b1·m + (1−b1)·g;  v = b2·v + (1−b2)·g²;
  //   w = w·(1 − lr·wd) − (lr/c1) · m / (√v / √c2 + eps),  c_i = 1 − b_i^t.
  // ResourceApplyAdam is not used: it adds eps to √v before the bias correction, which is not
  // PyTorch's rule. The per-step scalars (1 − lr·wd, lr/c1, √c2) are fed (adamw_scalars).
  void add_adamw_updates() {
    const auto& opt = options_.optimizer;
    plan_.adam_decay_factor = update_placeholder("update/adam/decay_factor").op;
    plan_.adam_step_size = update_placeholder("update/adam/step_size").op;
    plan_.adam_sqrt_correction2 = update_placeholder("update/adam/sqrt_correction2").op;
    const auto b1 = update_scalar("update/adam/beta1", opt.beta1);
    const auto one_minus_b1 = update_scalar("update/adam/one_minus_beta1", 1.0 - opt.beta1);
    const auto b2 = update_scalar("update/adam/beta2", opt.beta2);
    const auto one_minus_b2 = update_scalar("update/adam/one_minus_beta2", 1.0 - opt.beta2);
    const auto eps = update_scalar("update/adam/eps", opt.eps);
    for (std::size_t j = 0; j < plan_.trainable.size(); ++j) {
      const auto& v = plan_.variables[static_cast<std::size_t>(plan_.trainable[j])];
      const std::string base = "update/" + sanitized(v.spec_name);
      const auto& shape = v.tf_shape;
      const OpInput g{"", 0, static_cast<int>(j)};
      const auto m_old = add(plan_.update_ops, {"ReadVariableOp", base + "/exp_avg/read",
                                                {{v.momentum_handle, 0}},
                                                {{"dtype", DataType::float32}}, shape});
      const auto v_old = add(plan_.update_ops, {"ReadVariableOp", base + "/exp_avg_sq/read",
                                                {{v.second_moment_handle, 0}},
                                                {{"dtype", DataType::float32}}, shape});
      const auto m_new = update_op(
          "AddV2", base + "/exp_avg",
          {update_op("Mul", base + "/exp_avg/decayed", {m_old, b1}, shape),
           update_op("Mul", base + "/exp_avg/new", {g, one_minus_b1}, shape)},
          shape);
      const auto g2 = update_op("Mul", base + "/grad_squared", {g, g}, shape);
      const auto v_new = update_op(
          "AddV2", base + "/exp_avg_sq",
          {update_op("Mul", base + "/exp_avg_sq/decayed", {v_old, b2}, shape),
           update_op("Mul", base + "/exp_avg_sq/new", {g2, one_minus_b2}, shape)},
          shape);
      const auto root = update_op("Sqrt", base + "/sqrt", {v_new}, shape);
      const auto corrected = update_op("RealDiv", base + "/sqrt_corrected",
                                       {root, {plan_.adam_sqrt_correction2, 0}}, shape);
      const auto denom = update_op("AddV2", base + "/denom", {corrected, eps}, shape);
      const auto ratio = update_op("RealDiv", base + "/ratio", {m_new, denom}, shape);
      const auto step = update_op("Mul", base + "/step", {ratio, {plan_.adam_step_size, 0}}, shape);
      const auto decayed = update_op("Mul", base + "/decayed",
                                     {{v.read, 0}, {plan_.adam_decay_factor, 0}}, shape);
      const auto w_new = update_op("Sub", base + "/new_value", {decayed, step}, shape);
      for (const auto& [name, handle, value] :
           {std::tuple{base + "/assign_exp_avg", v.momentum_handle, m_new},
            std::tuple{base + "/assign_exp_avg_sq", v.second_moment_handle, v_new},
            std::tuple{base, v.handle, w_new}}) {
        plan_.step_targets.push_back(
            add(plan_.update_ops, {"AssignVariableOp", name, {{handle, 0}, value},
                                   {{"dtype", DataType::float32}}, {}})
                .op);
      }
    }
  }

  const model::AnalysedModel& model_;
  const model::ModelSpec& spec_;  // model_.spec
  const PlanOptions& options_;
  GraphPlan plan_;
  std::set<std::string> names_;
  std::map<std::string, int> variable_index_;
};

std::vector<std::int64_t> check_shape(const std::vector<float>& values,
                                      const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  if (n != static_cast<std::int64_t>(values.size())) {
    throw InputError(fmt::format("a weight tensor has {} values, but its shape needs {}",
                                 values.size(), n));
  }
  return shape;
}

enum class Direction { to_tf, from_tf };

// The spec tensor `values` in the variable's layout (to_tf), or back (from_tf): each element
// moves between its spec index and its TensorFlow index, whichever way `direction` says.
std::vector<float> permuted(const std::vector<float>& values,
                            const std::vector<std::int64_t>& spec_shape, WeightLayout layout,
                            Direction direction) {
  check_shape(values, spec_shape);
  if (layout == WeightLayout::same) return values;
  std::vector<float> out(values.size());
  const auto move = [&](std::int64_t spec_index, std::int64_t tf_index) {
    const auto s = static_cast<std::size_t>(spec_index);
    const auto t = static_cast<std::size_t>(tf_index);
    if (direction == Direction::to_tf) {
      out[t] = values[s];
    } else {
      out[s] = values[t];
    }
  };
  if (layout == WeightLayout::out_in_to_in_out) {
    const auto rows = spec_shape[0], cols = spec_shape[1];
    for (std::int64_t o = 0; o < rows; ++o)
      for (std::int64_t i = 0; i < cols; ++i) move(o * cols + i, i * rows + o);
    return out;
  }
  const auto O = spec_shape[0], I = spec_shape[1], H = spec_shape[2], W = spec_shape[3];
  for (std::int64_t o = 0; o < O; ++o)
    for (std::int64_t i = 0; i < I; ++i)
      for (std::int64_t h = 0; h < H; ++h)
        for (std::int64_t w = 0; w < W; ++w)
          move(((o * I + i) * H + h) * W + w, ((h * W + w) * I + i) * O + o);
  return out;
}

}  // namespace

std::int64_t random_op_seed(std::uint64_t trial_seed, std::uint64_t stream) {
  // splitmix64 of (seed, stream): well mixed, then kept in [1, 2^31 - 1] (never 0).
  std::uint64_t z = trial_seed + (stream + 1) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  const auto value = static_cast<std::int64_t>(z & 0x7FFFFFFFULL);
  return value == 0 ? 1 : value;
}

AdamwScalars adamw_scalars(const OptimizerConfig& optimizer, double lr, std::int64_t step) {
  const double t = static_cast<double>(step);
  const double correction1 = 1 - std::pow(optimizer.beta1, t);
  const double correction2 = 1 - std::pow(optimizer.beta2, t);
  return {static_cast<float>(1 - lr * optimizer.weight_decay),
          static_cast<float>(lr / correction1), static_cast<float>(std::sqrt(correction2))};
}

bool same_padding_matches(int size, int kernel, int stride, int padding) {
  const int same_out = (size + stride - 1) / stride;
  const int pad_total = std::max((same_out - 1) * stride + kernel - size, 0);
  return same_out == window_output(size, kernel, stride, padding) && pad_total / 2 == padding;
}

GraphPlan plan_graph(const model::AnalysedModel& model, const PlanOptions& options) {
  const auto& o = options.optimizer;
  if (o.kind == OptimizerConfig::Kind::adamw &&
      (o.beta1 < 0 || o.beta1 >= 1 || o.beta2 < 0 || o.beta2 >= 1 || o.eps <= 0)) {
    throw InputError("optimizer: AdamW needs beta1 and beta2 in [0, 1) and eps > 0");
  }
  return PlanBuilder(model, options).build();
}

std::optional<std::string> unsupported_reason(const model::AnalysedModel& model,
                                              const OptimizerConfig& optimizer) {
  try {
    PlanOptions options;
    options.optimizer = optimizer;
    plan_graph(model, options);
  } catch (const Unsupported& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

std::vector<float> to_tf_layout(const std::vector<float>& values,
                                const std::vector<std::int64_t>& spec_shape, WeightLayout layout) {
  return permuted(values, spec_shape, layout, Direction::to_tf);
}

std::vector<float> from_tf_layout(const std::vector<float>& values,
                                  const std::vector<std::int64_t>& spec_shape,
                                  WeightLayout layout) {
  return permuted(values, spec_shape, layout, Direction::from_tf);
}

std::vector<float> smoothed_targets(const std::vector<std::int64_t>& labels, int classes,
                                    double smoothing) {
  std::vector<float> out(labels.size() * static_cast<std::size_t>(classes),
                         static_cast<float>(smoothing / classes));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= classes) {
      throw InputError(fmt::format("label {} of sample {} is outside [0, {})", labels[i], i,
                                   classes));
    }
    out[i * static_cast<std::size_t>(classes) + static_cast<std::size_t>(labels[i])] +=
        static_cast<float>(1.0 - smoothing);
  }
  return out;
}

EvalResult score_logits(const std::vector<float>& logits, const std::vector<std::int64_t>& labels,
                        int classes) {
  EvalResult r;
  const auto k = static_cast<std::size_t>(classes);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const float* row = logits.data() + i * k;
    std::size_t best = 0;
    for (std::size_t j = 1; j < k; ++j) {
      if (row[j] > row[best]) best = j;
    }
    double sum = 0;
    for (std::size_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(row[j] - row[best]));
    const auto label = static_cast<std::size_t>(labels[i]);
    r.loss_sum += std::log(sum) + static_cast<double>(row[best]) - static_cast<double>(row[label]);
    if (best == label) ++r.correct;
    ++r.count;
  }
  return r;
}

const std::map<std::string, std::string>& registered_cpp_gradients() {
  // Checked in tensorflow/tensorflow's tensorflow/cc/gradients/*.cc (REGISTER_GRADIENT_OP).
  static const std::map<std::string, std::string> table{
      {"AddV2", "math_grad.cc"},
      {"AvgPool", "nn_grad.cc"},
      {"BiasAdd", "nn_grad.cc"},
      {"Conv2D", "nn_grad.cc"},
      {"Erf", "math_grad.cc"},
      {"LogSoftmax", "nn_grad.cc"},
      {"FusedBatchNormV3", "nn_grad.cc"},
      {"MatMul", "math_grad.cc"},
      {"MaxPool", "nn_grad.cc"},
      {"Mean", "math_grad.cc"},
      {"Mul", "math_grad.cc"},
      {"Neg", "math_grad.cc"},
      {"Pad", "array_grad.cc"},
      {"PadV2", "array_grad.cc"},
      {"Relu", "nn_grad.cc"},
      {"Reshape", "array_grad.cc"},
      {"SoftmaxCrossEntropyWithLogits", "nn_grad.cc"},
      {"StridedSlice", "array_grad.cc"},
      {"Sum", "math_grad.cc"},
      {"Transpose", "array_grad.cc"},
  };
  return table;
}

}  // namespace cb::backends::tf
