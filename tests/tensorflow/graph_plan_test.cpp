// The pure translation from a model spec to TensorFlow operations: op types, attributes,
// wiring, shapes, weight layouts, padding decisions and gradient coverage, without TensorFlow.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>

#include "backends/tensorflow/graph_plan.h"
#include "core/error.h"

namespace cb::backends::tf {
namespace {

using model::Layer;
using model::ModelSpec;
using model::Op;

Layer layer(std::string name, Op op) {
  Layer l;
  l.name = std::move(name);
  l.op = op;
  return l;
}
Layer conv(std::string name, int out, int kernel, int stride, int padding, bool bias = false) {
  Layer l = layer(std::move(name), Op::conv2d);
  l.out_channels = out;
  l.kernel = kernel;
  l.stride = stride;
  l.padding = padding;
  l.bias = bias;
  return l;
}
Layer window(std::string name, Op op, int kernel, int stride, int padding) {
  Layer l = layer(std::move(name), op);
  l.kernel = kernel;
  l.stride = stride;
  l.padding = padding;
  return l;
}
Layer linear(std::string name, int out) {
  Layer l = layer(std::move(name), Op::linear);
  l.out_features = out;
  l.bias = true;
  return l;
}

// input 3×32×32, then `body`, then global pool + linear to 10 classes (unless `head` is false).
ModelSpec spec_with(std::vector<Layer> body, bool head = true) {
  ModelSpec s;
  s.name = "test";
  s.layers.push_back(layer("input", Op::input));
  for (auto& l : body) s.layers.push_back(std::move(l));
  if (head) {
    s.layers.push_back(layer("pool", Op::global_avg_pool));
    s.layers.push_back(layer("flat", Op::flatten));
    s.layers.push_back(linear("fc", 10));
  }
  return s;
}

GraphPlan plan(const ModelSpec& spec, OptimizerConfig opt = {}) {
  PlanOptions options;
  options.optimizer = opt;
  return plan_graph(model::analyse(spec), options);
}
GraphPlan plan_with(const ModelSpec& spec, PlanOptions options) {
  return plan_graph(model::analyse(spec), options);
}

const GraphOp* find_op(const GraphPlan& p, const std::string& name) {
  for (const auto* list : {&p.forward_ops, &p.update_ops}) {
    for (const auto& op : *list) {
      if (op.name == name) return &op;
    }
  }
  return nullptr;
}
const GraphOp& op(const GraphPlan& p, const std::string& name) {
  const auto* o = find_op(p, name);
  if (!o) throw std::runtime_error("no op " + name);
  return *o;
}
std::vector<std::string> types(const GraphPlan& p) {
  std::vector<std::string> out;
  for (const auto& o : p.forward_ops) out.push_back(o.type);
  for (const auto& o : p.update_ops) out.push_back(o.type);
  return out;
}
bool has_type(const GraphPlan& p, const std::string& type) {
  const auto t = types(p);
  return std::find(t.begin(), t.end(), type) != t.end();
}
template <typename T>
T attr(const GraphOp& o, const std::string& name) {
  return std::get<T>(o.attrs.at(name));
}
const VariablePlan& variable(const GraphPlan& p, const std::string& name) {
  for (const auto& v : p.variables) {
    if (v.spec_name == name) return v;
  }
  throw std::runtime_error("no variable " + name);
}
std::vector<std::int32_t> const_ints(const GraphPlan& p, const OpInput& in) {
  return std::get<ConstTensor>(op(p, in.op).attrs.at("value")).ints;
}

// ---- padding decisions ----------------------------------------------------------------------

TEST(SamePadding, MatchesSymmetricPaddingForStrideOne) {
  EXPECT_TRUE(same_padding_matches(32, 3, 1, 1));
  EXPECT_TRUE(same_padding_matches(32, 5, 1, 2));
}

TEST(SamePadding, DiffersForStrideTwoOnEvenSizes) {
  // SAME pads 0 before and 1 after here; PyTorch pads 1 on both sides.
  EXPECT_FALSE(same_padding_matches(32, 3, 2, 1));
  EXPECT_FALSE(same_padding_matches(32, 7, 2, 3));
}

TEST(SamePadding, MatchesStrideTwoOnOddSizes) { EXPECT_TRUE(same_padding_matches(7, 3, 2, 1)); }

TEST(SamePadding, DiffersWhenOutputSizesDiffer) { EXPECT_FALSE(same_padding_matches(32, 3, 1, 0)); }

TEST(GraphPlan, StrideOneConvUsesSamePaddingWithoutPadOp) {
  const auto p = plan(spec_with({conv("c", 8, 3, 1, 1)}));
  EXPECT_EQ(attr<std::string>(op(p, "train/c"), "padding"), "SAME");
  EXPECT_EQ(find_op(p, "train/c/pad"), nullptr);
}

TEST(GraphPlan, StrideTwoConvUsesExplicitPadThenValid) {
  const auto p = plan(spec_with({conv("c", 8, 3, 2, 1)}));
  const auto& c = op(p, "train/c");
  EXPECT_EQ(attr<std::string>(c, "padding"), "VALID");
  EXPECT_EQ(c.inputs[0].op, "train/c/pad");
  const auto& pad = op(p, "train/c/pad");
  EXPECT_EQ(pad.type, "Pad");
  EXPECT_EQ(const_ints(p, pad.inputs[1]), (std::vector<std::int32_t>{0, 0, 1, 1, 1, 1, 0, 0}));
  EXPECT_EQ(pad.shape, (std::vector<std::int64_t>{-1, 34, 34, 3}));
  EXPECT_EQ(c.shape, (std::vector<std::int64_t>{-1, 16, 16, 8}));
}

TEST(GraphPlan, UnpaddedConvIsValid) {
  const auto p = plan(spec_with({conv("c", 8, 1, 2, 0)}));
  EXPECT_EQ(attr<std::string>(op(p, "train/c"), "padding"), "VALID");
  EXPECT_EQ(op(p, "train/c").shape, (std::vector<std::int64_t>{-1, 16, 16, 8}));
}

TEST(GraphPlan, ConvAttributesAreNhwcStridesAndDilations) {
  const auto p = plan(spec_with({conv("c", 8, 3, 2, 1)}));
  const auto& c = op(p, "train/c");
  EXPECT_EQ(c.type, "Conv2D");
  EXPECT_EQ(attr<std::string>(c, "data_format"), "NHWC");
  EXPECT_EQ(attr<std::vector<std::int64_t>>(c, "strides"), (std::vector<std::int64_t>{1, 2, 2, 1}));
  EXPECT_EQ(attr<std::vector<std::int64_t>>(c, "dilations"),
            (std::vector<std::int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(attr<DataType>(c, "T"), DataType::float32);
}

TEST(GraphPlan, ConvReadsItsWeightVariableInHwio) {
  const auto p = plan(spec_with({conv("c", 8, 3, 1, 1)}));
  const auto& w = variable(p, "c.weight");
  EXPECT_EQ(w.spec_shape, (std::vector<std::int64_t>{8, 3, 3, 3}));
  EXPECT_EQ(w.tf_shape, (std::vector<std::int64_t>{3, 3, 3, 8}));
  EXPECT_EQ(w.layout, WeightLayout::oihw_to_hwio);
  EXPECT_EQ(op(p, "train/c").inputs[1], (OpInput{w.read, 0}));
}

TEST(GraphPlan, ConvBiasIsBiasAdd) {
  const auto p = plan(spec_with({conv("c", 8, 3, 1, 1, true)}));
  const auto& b = op(p, "train/c/bias");
  EXPECT_EQ(b.type, "BiasAdd");
  EXPECT_EQ(b.inputs[0].op, "train/c");
  EXPECT_EQ(b.inputs[1].op, variable(p, "c.bias").read);
}

TEST(GraphPlan, GroupedConvolutionIsUnsupported) {
  auto c = conv("g", 6, 3, 1, 1);
  c.groups = 3;
  EXPECT_THROW(plan(spec_with({c})), Unsupported);
  EXPECT_TRUE(unsupported_reason(model::analyse(spec_with({c})), {}).has_value());
  EXPECT_FALSE(unsupported_reason(model::analyse(spec_with({conv("c", 6, 3, 1, 1)})), {}).has_value());
}

// ---- batch norm ---------------------------------------------------------------------------

TEST(GraphPlan, BatchNormTrainsWithMomentumAsExponentialAverageFactor) {
  auto bn = layer("bn", Op::batch_norm);
  bn.momentum = 0.2;
  bn.eps = 1e-3;
  const auto p = plan(spec_with({conv("c", 8, 3, 1, 1), bn}));
  const auto& t = op(p, "train/bn");
  EXPECT_EQ(t.type, "FusedBatchNormV3");
  EXPECT_TRUE(attr<bool>(t, "is_training"));
  EXPECT_FLOAT_EQ(attr<float>(t, "exponential_avg_factor"), 0.2f);
  EXPECT_FLOAT_EQ(attr<float>(t, "epsilon"), 1e-3f);
  EXPECT_EQ(attr<std::string>(t, "data_format"), "NHWC");
}

TEST(GraphPlan, BatchNormEvaluatesWithRunningStatistics) {
  const auto p = plan(spec_with({conv("c", 8, 3, 1, 1), layer("bn", Op::batch_norm)}));
  const auto& e = op(p, "eval/bn");
  EXPECT_FALSE(attr<bool>(e, "is_training"));
  EXPECT_EQ(e.inputs[3].op, variable(p, "bn.running_mean").read);
  EXPECT_EQ(e.inputs[4].op, variable(p, "bn.running_var").read);
}

TEST(GraphPlan, TrainingStepAssignsBatchNormOutputsToRunningStatistics) {
  const auto p = plan(spec_with({conv("c", 8, 3, 1, 1), layer("bn", Op::batch_norm)}));
  const auto& mean = op(p, "train/bn/update_running_mean");
  const auto& var = op(p, "train/bn/update_running_var");
  EXPECT_EQ(mean.type, "AssignVariableOp");
  EXPECT_EQ(mean.inputs[0].op, variable(p, "bn.running_mean").handle);
  EXPECT_EQ(mean.inputs[1], (OpInput{"train/bn", 1}));
  EXPECT_EQ(var.inputs[1], (OpInput{"train/bn", 2}));
  const auto& targets = p.step_targets;
  EXPECT_NE(std::find(targets.begin(), targets.end(), mean.name), targets.end());
  EXPECT_NE(std::find(targets.begin(), targets.end(), var.name), targets.end());
}

TEST(GraphPlan, BatchNormStatisticsAreBuffersWithoutMomentum) {
  const auto p = plan(spec_with({conv("c", 8, 3, 1, 1), layer("bn", Op::batch_norm)}));
  EXPECT_TRUE(variable(p, "bn.weight").trainable);
  EXPECT_FALSE(variable(p, "bn.running_var").trainable);
  EXPECT_TRUE(variable(p, "bn.running_var").momentum_handle.empty());
  EXPECT_EQ(variable(p, "bn.running_mean").tf_shape, (std::vector<std::int64_t>{8}));
}

TEST(GraphPlan, NonAffineBatchNormUsesConstantScaleAndOffset) {
  auto bn = layer("bn", Op::batch_norm);
  bn.affine = false;
  const auto p = plan(spec_with({conv("c", 8, 3, 1, 1), bn}));
  EXPECT_THROW(variable(p, "bn.weight"), std::runtime_error);
  EXPECT_EQ(op(p, "train/bn").inputs[1].op, "train/bn/unit_scale");
}

// ---- pooling and shape ops ------------------------------------------------------------------

TEST(GraphPlan, MaxPoolStrideTwoPadsWithLowestFloat) {
  const auto p = plan(spec_with({window("mp", Op::max_pool, 3, 2, 1)}));
  const auto& pad = op(p, "train/mp/pad");
  EXPECT_EQ(pad.type, "PadV2");
  const auto fill = std::get<ConstTensor>(op(p, pad.inputs[2].op).attrs.at("value")).floats;
  EXPECT_EQ(fill, (std::vector<float>{std::numeric_limits<float>::lowest()}));
  EXPECT_EQ(attr<std::string>(op(p, "train/mp"), "padding"), "VALID");
  EXPECT_EQ(op(p, "train/mp").shape, (std::vector<std::int64_t>{-1, 16, 16, 3}));
}

TEST(GraphPlan, MaxPoolStrideOneUsesSame) {
  const auto p = plan(spec_with({window("mp", Op::max_pool, 3, 1, 1)}));
  EXPECT_EQ(attr<std::string>(op(p, "train/mp"), "padding"), "SAME");
}

TEST(GraphPlan, AvgPoolPaddingIsExplicitZerosCountedInTheMean) {
  const auto p = plan(spec_with({window("ap", Op::avg_pool, 3, 1, 1)}));
  EXPECT_EQ(op(p, "train/ap/pad").type, "Pad");
  EXPECT_EQ(attr<std::string>(op(p, "train/ap"), "padding"), "VALID");
  EXPECT_EQ(op(p, "train/ap").type, "AvgPool");
  EXPECT_EQ(attr<std::vector<std::int64_t>>(op(p, "train/ap"), "ksize"),
            (std::vector<std::int64_t>{1, 3, 3, 1}));
}

TEST(GraphPlan, GlobalAveragePoolIsMeanOverHeightAndWidth) {
  const auto p = plan(spec_with({}));
  const auto& m = op(p, "train/pool");
  EXPECT_EQ(m.type, "Mean");
  EXPECT_TRUE(attr<bool>(m, "keep_dims"));
  EXPECT_EQ(const_ints(p, m.inputs[1]), (std::vector<std::int32_t>{1, 2}));
  EXPECT_EQ(m.shape, (std::vector<std::int64_t>{-1, 1, 1, 3}));
}

TEST(GraphPlan, FlattenOfOneByOneIsAReshapeWithoutTranspose) {
  const auto p = plan(spec_with({}));
  EXPECT_EQ(op(p, "train/flat").type, "Reshape");
  EXPECT_EQ(find_op(p, "train/flat/nchw"), nullptr);
  EXPECT_EQ(op(p, "train/flat").shape, (std::vector<std::int64_t>{-1, 3}));
}

TEST(GraphPlan, FlattenOfFeatureMapsTransposesToChannelFirstOrder) {
  auto s = spec_with({window("mp", Op::max_pool, 8, 8, 0), layer("flat", Op::flatten),
                      linear("fc", 10)},
                     false);
  const auto p = plan(s);
  const auto& t = op(p, "train/flat/nchw");
  EXPECT_EQ(t.type, "Transpose");
  EXPECT_EQ(const_ints(p, t.inputs[1]), (std::vector<std::int32_t>{0, 3, 1, 2}));
  EXPECT_EQ(op(p, "train/flat").inputs[0].op, t.name);
  EXPECT_EQ(op(p, "train/flat").shape, (std::vector<std::int64_t>{-1, 48}));
  EXPECT_EQ(variable(p, "fc.weight").tf_shape, (std::vector<std::int64_t>{48, 10}));
}

TEST(GraphPlan, LinearIsMatMulWithInOutWeightThenBiasAdd) {
  const auto p = plan(spec_with({}));
  const auto& m = op(p, "train/fc");
  EXPECT_EQ(m.type, "MatMul");
  EXPECT_FALSE(attr<bool>(m, "transpose_b"));
  EXPECT_EQ(m.inputs[1].op, variable(p, "fc.weight").read);
  EXPECT_EQ(variable(p, "fc.weight").layout, WeightLayout::out_in_to_in_out);
  EXPECT_EQ(op(p, "train/fc/bias").type, "BiasAdd");
  EXPECT_EQ(op(p, "train/fc/bias").shape, (std::vector<std::int64_t>{-1, 10}));
}

TEST(GraphPlan, ResidualAddIsAddV2OfBothInputs) {
  auto s = spec_with({conv("a", 3, 3, 1, 1), layer("relu", Op::relu), layer("sum", Op::add)});
  s.layers[3].inputs = {1, 2};
  const auto p = plan(s);
  const auto& a = op(p, "train/sum");
  EXPECT_EQ(a.type, "AddV2");
  EXPECT_EQ(a.inputs[0].op, "train/a");
  EXPECT_EQ(a.inputs[1].op, "train/relu");
}

TEST(GraphPlan, PadChannelsAppendsZeroChannelsAfterTheInput) {
  auto pc = layer("pc", Op::pad_channels);
  pc.out_channels = 8;
  const auto p = plan(spec_with({pc}));
  const auto& pad = op(p, "train/pc");
  EXPECT_EQ(pad.type, "Pad");
  EXPECT_EQ(const_ints(p, pad.inputs[1]), (std::vector<std::int32_t>{0, 0, 0, 0, 0, 0, 0, 5}));
  EXPECT_EQ(pad.shape, (std::vector<std::int64_t>{-1, 32, 32, 8}));
}

TEST(GraphPlan, SubsampleIsStridedSliceFromTheOrigin) {
  auto sub = layer("sub", Op::subsample);
  sub.stride = 2;
  const auto p = plan(spec_with({sub}));
  const auto& s = op(p, "train/sub");
  EXPECT_EQ(s.type, "StridedSlice");
  EXPECT_EQ(const_ints(p, s.inputs[1]), (std::vector<std::int32_t>{0, 0, 0, 0}));
  EXPECT_EQ(const_ints(p, s.inputs[3]), (std::vector<std::int32_t>{1, 2, 2, 1}));
  EXPECT_EQ(attr<std::int64_t>(s, "begin_mask"), 15);
  EXPECT_EQ(attr<std::int64_t>(s, "end_mask"), 15);
  EXPECT_EQ(s.shape, (std::vector<std::int64_t>{-1, 16, 16, 3}));
}

TEST(GraphPlan, ScaleIsMulByTheConstant) {
  auto sc = layer("sc", Op::scale);
  sc.scale = 0.125;
  const auto p = plan(spec_with({sc}));
  const auto& m = op(p, "train/sc");
  EXPECT_EQ(m.type, "Mul");
  EXPECT_EQ(std::get<ConstTensor>(op(p, m.inputs[1].op).attrs.at("value")).floats,
            (std::vector<float>{0.125f}));
}

TEST(GraphPlan, GeluIsTheExactErfFormulaNotTheGeluOp) {
  const auto p = plan(spec_with({layer("g", Op::gelu)}));
  EXPECT_EQ(op(p, "train/g/erf").type, "Erf");
  EXPECT_FALSE(has_type(p, "Gelu"));
  const auto factor =
      std::get<ConstTensor>(op(p, "train/g/inv_sqrt2").attrs.at("value")).floats.at(0);
  EXPECT_FLOAT_EQ(factor, static_cast<float>(1.0 / std::sqrt(2.0)));
}

TEST(GraphPlan, DropoutMasksOnlyInTrainingWithFedMaskShape) {
  auto d = layer("drop", Op::dropout);
  d.p = 0.25;
  const auto p = plan(spec_with({d}));
  EXPECT_EQ(op(p, "train/drop/uniform").type, "RandomUniform");
  EXPECT_EQ(op(p, "train/drop/uniform").inputs[0].op, "train/drop/mask_shape");
  EXPECT_EQ(find_op(p, "eval/drop/uniform"), nullptr);
  ASSERT_EQ(p.dropout_masks.size(), 1u);
  EXPECT_EQ(p.dropout_masks[0].per_sample, (std::vector<std::int64_t>{32, 32, 3}));
  const auto rescale =
      std::get<ConstTensor>(op(p, "train/drop/rescale").attrs.at("value")).floats.at(0);
  EXPECT_FLOAT_EQ(rescale, 1.0f / 0.75f);
}

// ---- loss, logits, optimizer ----------------------------------------------------------------

TEST(GraphPlan, LossIsTheMeanSoftmaxCrossEntropyOfTrainingLogits) {
  const auto p = plan(spec_with({}));
  const auto& mean = op(p, p.loss.op);
  EXPECT_EQ(mean.type, "Mean");
  const auto& xent = op(p, mean.inputs[0].op);
  EXPECT_EQ(xent.type, "SoftmaxCrossEntropyWithLogits");
  EXPECT_EQ(xent.inputs[0], p.train_logits);
  EXPECT_EQ(xent.inputs[1].op, p.targets);
}

TEST(GraphPlan, LogitsAreFlatForBothModes) {
  const auto p = plan(spec_with({}));
  EXPECT_EQ(op(p, p.train_logits.op).shape, (std::vector<std::int64_t>{-1, 10}));
  EXPECT_EQ(op(p, p.eval_logits.op).shape, (std::vector<std::int64_t>{-1, 10}));
  EXPECT_NE(p.train_logits.op, p.eval_logits.op);
}

TEST(GraphPlan, EvaluationSharesTheTrainingVariables) {
  const auto p = plan(spec_with({conv("c", 8, 3, 1, 1)}));
  EXPECT_EQ(op(p, "eval/c").inputs[1], op(p, "train/c").inputs[1]);
}

TEST(GraphPlan, ImagesAreNhwcWithUnknownBatch) {
  const auto p = plan(spec_with({}));
  EXPECT_EQ(attr<ShapeAttr>(op(p, p.images), "shape").dims,
            (std::vector<std::int64_t>{-1, 32, 32, 3}));
  EXPECT_EQ(attr<ShapeAttr>(op(p, p.learning_rate), "shape").dims, std::vector<std::int64_t>{});
}

TEST(GraphPlan, SgdIsResourceApplyMomentumPerTrainableVariable) {
  OptimizerConfig opt;
  opt.momentum = 0.9;
  opt.nesterov = true;
  opt.weight_decay = 5e-4;
  const auto p = plan(spec_with({conv("c", 8, 3, 1, 1), layer("bn", Op::batch_norm)}), opt);
  int applies = 0;
  for (const auto& o : p.update_ops) {
    if (o.type != "ResourceApplyMomentum") continue;
    ++applies;
    EXPECT_TRUE(attr<bool>(o, "use_nesterov"));
    EXPECT_EQ(o.inputs[2].op, p.learning_rate);
    EXPECT_EQ(std::get<ConstTensor>(op(p, o.inputs[4].op).attrs.at("value")).floats,
              (std::vector<float>{0.9f}));
  }
  EXPECT_EQ(applies, static_cast<int>(p.trainable.size()));
  EXPECT_EQ(p.trainable.size(), 5u);  // c.weight, bn.weight, bn.bias, fc.weight, fc.bias
}

TEST(GraphPlan, WeightDecayIsAddedToTheGradientBeforeMomentum) {
  OptimizerConfig opt;
  opt.weight_decay = 5e-4;
  const auto p = plan(spec_with({conv("c", 8, 3, 1, 1)}), opt);
  const auto& apply = op(p, "update/c.weight");
  const auto& grad = op(p, apply.inputs[3].op);
  EXPECT_EQ(grad.type, "AddV2");
  EXPECT_EQ(grad.inputs[0].gradient_of, 0);
  const auto& decay = op(p, grad.inputs[1].op);
  EXPECT_EQ(decay.inputs[0].op, variable(p, "c.weight").read);
  EXPECT_EQ(std::get<ConstTensor>(op(p, decay.inputs[1].op).attrs.at("value")).floats,
            (std::vector<float>{5e-4f}));
}

TEST(GraphPlan, WithoutWeightDecayTheGradientFeedsTheUpdateDirectly) {
  OptimizerConfig opt;
  opt.weight_decay = 0;
  opt.nesterov = false;
  const auto p = plan(spec_with({}), opt);
  const auto& apply = op(p, "update/fc.weight");
  EXPECT_EQ(apply.inputs[3].gradient_of, 0);
  EXPECT_FALSE(attr<bool>(apply, "use_nesterov"));
}


TEST(GraphPlan, TrainableVariablesFollowTheSpecTensorOrder) {
  const auto p = plan(spec_with({conv("c", 8, 3, 1, 1, true), layer("bn", Op::batch_norm)}));
  std::vector<std::string> names;
  for (const auto& v : p.variables) names.push_back(v.spec_name);
  EXPECT_EQ(names, (std::vector<std::string>{"c.weight", "c.bias", "bn.weight", "bn.bias",
                                             "bn.running_mean", "bn.running_var", "fc.weight",
                                             "fc.bias"}));
}

TEST(GraphPlan, LastLayerMustProduceOneLogitPerClass) {
  auto s = spec_with({});
  s.layers.back().out_features = 7;
  EXPECT_THROW(plan(s), InputError);  // refused by the analysis, before any plan
}

// ---- the whole graph ------------------------------------------------------------------------

// Every op of the zoo's kinds: a small residual network with option-A shortcut, dropout, GELU.
ModelSpec everything_spec() {
  auto pc = layer("short.pad", Op::pad_channels);
  pc.out_channels = 16;
  auto sub = layer("short.sub", Op::subsample);
  sub.stride = 2;
  auto drop = layer("drop", Op::dropout);
  drop.p = 0.1;
  auto scale = layer("temp", Op::scale);
  scale.scale = 0.5;
  ModelSpec s;
  s.name = "everything";
  s.layers = {layer("input", Op::input),                    // 0
              conv("stem", 8, 3, 1, 1),                     // 1
              layer("stem.bn", Op::batch_norm),             // 2
              layer("stem.relu", Op::relu),                 // 3
              conv("b.conv", 16, 3, 2, 1),                  // 4
              layer("b.gelu", Op::gelu),                    // 5
              sub,                                          // 6 (input 3)
              pc,                                           // 7
              layer("b.add", Op::add),                      // 8 (5 + 7)
              window("mp", Op::max_pool, 3, 2, 1),          // 9
              window("ap", Op::avg_pool, 3, 1, 1),          // 10
              layer("flat", Op::flatten),                   // 11
              drop,                                         // 12
              linear("fc", 10),                             // 13
              scale};                                       // 14
  s.layers[6].inputs = {3};
  s.layers[8].inputs = {5, 7};
  return s;
}

TEST(GraphPlan, OpNamesAreUniqueAndInputsReferToEarlierOps) {
  const auto p = plan(everything_spec());
  std::set<std::string> seen;
  for (const auto* list : {&p.forward_ops, &p.update_ops}) {
    for (const auto& o : *list) {
      for (const auto& in : o.inputs) {
        if (in.gradient_of >= 0) {
          EXPECT_LT(in.gradient_of, static_cast<int>(p.trainable.size()));
        } else {
          EXPECT_TRUE(seen.count(in.op)) << o.name << " reads " << in.op << " before it exists";
        }
      }
      EXPECT_TRUE(seen.insert(o.name).second) << "duplicate " << o.name;
    }
  }
  for (const auto& t : p.step_targets) EXPECT_TRUE(seen.count(t)) << t;
}

TEST(GraphPlan, GradientsAreNeededOnlyByUpdateOps) {
  const auto p = plan(everything_spec());
  for (const auto& o : p.forward_ops) {
    for (const auto& in : o.inputs) EXPECT_LT(in.gradient_of, 0) << o.name;
  }
}

// TF_AddGradients differentiates every op between a trainable variable's value and the loss;
// each such op type needs a C++ gradient (tensorflow/cc/gradients), or graph building fails.
// The op types TF_AddGradients differentiates: those between a trainable read and the loss.
std::set<std::string> differentiated_types(const GraphPlan& p) {
  // Forward reachability from the trainable reads (ops are in topological order).
  std::set<std::string> from_params;
  for (int i : p.trainable) from_params.insert(p.variables[static_cast<std::size_t>(i)].read);
  for (const auto& o : p.forward_ops) {
    for (const auto& in : o.inputs) {
      if (from_params.count(in.op)) from_params.insert(o.name);
    }
  }
  // Backward reachability from the loss.
  std::set<std::string> to_loss{p.loss.op};
  for (auto it = p.forward_ops.rbegin(); it != p.forward_ops.rend(); ++it) {
    if (!to_loss.count(it->name)) continue;
    for (const auto& in : it->inputs) to_loss.insert(in.op);
  }
  std::set<std::string> differentiated;
  for (const auto& o : p.forward_ops) {
    if (o.type == "ReadVariableOp") continue;  // the x of TF_AddGradients: not differentiated
    if (from_params.count(o.name) && to_loss.count(o.name)) differentiated.insert(o.type);
  }
  return differentiated;
}

TEST(GraphPlan, EveryOpBetweenParametersAndLossHasARegisteredCppGradient) {
  const auto differentiated = differentiated_types(plan(everything_spec()));
  const auto& registered = registered_cpp_gradients();
  for (const auto& type : differentiated) {
    EXPECT_TRUE(registered.count(type)) << type << " has no registered C++ gradient";
  }
  for (const char* expected : {"Conv2D", "FusedBatchNormV3", "Relu", "Erf", "StridedSlice",
                               "Pad", "PadV2", "AddV2", "MaxPool", "AvgPool", "Transpose",
                               "Reshape", "MatMul", "BiasAdd", "Mul", "Mean",
                               "SoftmaxCrossEntropyWithLogits"}) {
    EXPECT_TRUE(differentiated.count(expected)) << expected << " is not on the gradient path";
  }
}

// ---- determinism: seeded random ops, a loss with deterministic kernels -----------------------

TEST(GraphPlan, DeterministicLossAvoidsSoftmaxCrossEntropyAndKeepsGradients) {
  PlanOptions options;
  options.deterministic = true;
  const auto p = plan_with(everything_spec(), options);
  EXPECT_FALSE(has_type(p, "SoftmaxCrossEntropyWithLogits"));
  const auto differentiated = differentiated_types(p);
  for (const auto& type : differentiated) {
    EXPECT_TRUE(registered_cpp_gradients().count(type)) << type << " has no C++ gradient";
  }
  for (const char* expected : {"LogSoftmax", "Sum", "Neg", "Mean", "MatMul"}) {
    EXPECT_TRUE(differentiated.count(expected)) << expected << " is not on the gradient path";
  }
  const auto& mean = op(p, p.loss.op);
  const auto& neg = op(p, mean.inputs[0].op);
  EXPECT_EQ(neg.type, "Neg");
  const auto& sum = op(p, neg.inputs[0].op);
  EXPECT_EQ(sum.type, "Sum");
  EXPECT_EQ(const_ints(p, sum.inputs[1]), (std::vector<std::int32_t>{1}));
  const auto& weighted = op(p, sum.inputs[0].op);
  EXPECT_EQ(weighted.inputs[0].op, p.targets);
  EXPECT_EQ(op(p, weighted.inputs[1].op).inputs[0], p.train_logits);
}

TEST(GraphPlan, DropoutSeedsAreNonZeroAndFollowTheTrialSeed) {
  auto d1 = layer("drop1", Op::dropout);
  d1.p = 0.25;
  auto d2 = layer("drop2", Op::dropout);
  d2.p = 0.5;
  const auto spec = spec_with({d1, d2});
  const auto seeds = [&](std::uint64_t seed) {
    PlanOptions options;
    options.seed = seed;
    const auto p = plan_with(spec, options);
    std::vector<std::int64_t> out;
    for (const char* name : {"train/drop1/uniform", "train/drop2/uniform"}) {
      out.push_back(attr<std::int64_t>(op(p, name), "seed"));
      out.push_back(attr<std::int64_t>(op(p, name), "seed2"));
    }
    return out;
  };
  for (std::uint64_t seed : {0ULL, 1ULL, 12345ULL}) {
    const auto s = seeds(seed);
    for (auto v : s) {
      EXPECT_GT(v, 0) << "seed " << seed;  // seed = seed2 = 0 is refused under determinism
      EXPECT_LE(v, 0x7FFFFFFF);
    }
    EXPECT_EQ(s[0], s[2]);      // one graph-level seed
    EXPECT_NE(s[1], s[3]);      // each random op its own stream
    EXPECT_EQ(s, seeds(seed));  // the same trial seed, the same masks
  }
  EXPECT_NE(seeds(1), seeds(2));
}

// ---- weight layouts -------------------------------------------------------------------------

std::vector<float> iota(std::size_t n) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), 0.0f);
  return v;
}

TEST(WeightLayout, ConvOihwBecomesHwio) {
  const std::vector<std::int64_t> shape{4, 3, 2, 5};  // O, I, H, W
  const auto tf = to_tf_layout(iota(120), shape, WeightLayout::oihw_to_hwio);
  // spec[o=1][i=2][h=1][w=3] = ((1·3+2)·2+1)·5+3 = 58 lands at tf[h=1][w=3][i=2][o=1].
  EXPECT_EQ(tf[static_cast<std::size_t>(((1 * 5 + 3) * 3 + 2) * 4 + 1)], 58.0f);
  EXPECT_EQ(tf[0], 0.0f);
}

TEST(WeightLayout, LinearOutInBecomesInOut) {
  const auto tf = to_tf_layout({1, 2, 3, 4, 5, 6}, {2, 3}, WeightLayout::out_in_to_in_out);
  EXPECT_EQ(tf, (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST(WeightLayout, ConversionsRoundTrip) {
  const std::vector<std::int64_t> conv_shape{4, 3, 2, 5};
  EXPECT_EQ(from_tf_layout(to_tf_layout(iota(120), conv_shape, WeightLayout::oihw_to_hwio),
                           conv_shape, WeightLayout::oihw_to_hwio),
            iota(120));
  EXPECT_EQ(from_tf_layout(to_tf_layout(iota(12), {3, 4}, WeightLayout::out_in_to_in_out),
                           {3, 4}, WeightLayout::out_in_to_in_out),
            iota(12));
}

TEST(WeightLayout, WrongValueCountIsAnInputError) {
  EXPECT_THROW(to_tf_layout(iota(5), {2, 3}, WeightLayout::out_in_to_in_out), InputError);
}

// ---- host-side targets and scores -----------------------------------------------------------

TEST(SmoothedTargets, PutOneMinusSmoothingPlusShareOnTheLabel) {
  const auto t = smoothed_targets({2, 0}, 4, 0.2);
  EXPECT_FLOAT_EQ(t[2], 0.85f);
  EXPECT_FLOAT_EQ(t[0], 0.05f);
  EXPECT_FLOAT_EQ(t[4], 0.85f);
  EXPECT_FLOAT_EQ(std::accumulate(t.begin(), t.begin() + 4, 0.0f), 1.0f);
}

TEST(SmoothedTargets, LabelOutsideTheClassesIsAnInputError) {
  EXPECT_THROW(smoothed_targets({4}, 4, 0.0), InputError);
}

TEST(ScoreLogits, SumsCrossEntropyAndCountsCorrect) {
  // Row 0: uniform over 2 classes → loss ln 2, argmax ties resolve to class 0 (correct).
  // Row 1: logits (0, ln 3) with label 0 → loss ln 4, predicted 1 (wrong).
  const auto r = score_logits({0.0f, 0.0f, 0.0f, static_cast<float>(std::log(3.0))}, {0, 0}, 2);
  EXPECT_EQ(r.count, 2);
  EXPECT_EQ(r.correct, 1);
  EXPECT_NEAR(r.loss_sum, std::log(2.0) + std::log(4.0), 1e-6);
}

}  // namespace
}  // namespace cb::backends::tf

// ---- a small interpreter of planned ops: the loss and AdamW's update, evaluated -------------

namespace cb::backends::tf {
namespace {

struct Value {
  std::vector<std::int64_t> shape;
  std::vector<double> data;
};

// Evaluates float ops of a plan with double arithmetic: elementwise ops (a scalar operand
// broadcasts), LogSoftmax over the last axis of a matrix, Sum over axis 1, Mean over axis 0,
// variables through `state` (keyed by VarHandleOp name). Enough for the loss and the updates.
class Interpreter {
 public:
  explicit Interpreter(const GraphPlan& p) {
    for (const auto* list : {&p.forward_ops, &p.update_ops}) {
      for (const auto& o : *list) ops_[o.name] = &o;
    }
  }
  std::map<std::string, Value> values;           // fed or precomputed op outputs
  std::map<std::string, Value> state;            // variables
  std::vector<Value> gradients;                  // OpInput::gradient_of

  Value eval(const OpInput& in) {
    if (in.gradient_of >= 0) return gradients.at(static_cast<std::size_t>(in.gradient_of));
    if (auto it = values.find(in.op); it != values.end()) return it->second;
    const GraphOp& o = *ops_.at(in.op);
    Value out = compute(o);
    values[o.name] = out;
    return out;
  }
  void run(const std::string& name) { eval({name, 0}); }

 private:
  Value compute(const GraphOp& o) {
    if (o.type == "Const") {
      const auto& t = std::get<ConstTensor>(o.attrs.at("value"));
      Value v{t.shape, {}};
      for (float f : t.floats) v.data.push_back(f);
      for (auto i : t.ints) v.data.push_back(i);
      return v;
    }
    if (o.type == "ReadVariableOp") return state.at(o.inputs[0].op);
    if (o.type == "AssignVariableOp") {
      state[o.inputs[0].op] = eval(o.inputs[1]);
      return {};
    }
    std::vector<Value> in;
    for (const auto& i : o.inputs) in.push_back(eval(i));
    if (o.type == "Sqrt" || o.type == "Neg") {
      for (auto& x : in[0].data) x = o.type == "Sqrt" ? std::sqrt(x) : -x;
      return in[0];
    }
    if (o.type == "LogSoftmax") return log_softmax(in[0]);
    if (o.type == "Sum" || o.type == "Mean") return reduce(in[0], o.type == "Mean");
    return elementwise(o.type, in[0], in[1]);
  }
  static Value elementwise(const std::string& type, const Value& a, const Value& b) {
    const Value& big = a.data.size() >= b.data.size() ? a : b;
    Value out{big.shape, std::vector<double>(big.data.size())};
    for (std::size_t i = 0; i < out.data.size(); ++i) {
      const double x = a.data[a.data.size() == 1 ? 0 : i];
      const double y = b.data[b.data.size() == 1 ? 0 : i];
      if (type == "Mul") out.data[i] = x * y;
      else if (type == "AddV2") out.data[i] = x + y;
      else if (type == "Sub") out.data[i] = x - y;
      else if (type == "RealDiv") out.data[i] = x / y;
      else throw std::runtime_error("interpreter: no " + type);
    }
    return out;
  }
  static Value log_softmax(Value v) {
    const auto k = static_cast<std::size_t>(v.shape.back());
    for (std::size_t r = 0; r < v.data.size() / k; ++r) {
      double* row = v.data.data() + r * k;
      double sum = 0;
      for (std::size_t j = 0; j < k; ++j) sum += std::exp(row[j]);
      for (std::size_t j = 0; j < k; ++j) row[j] -= std::log(sum);
    }
    return v;
  }
  // Sum of a matrix over axis 1, or the mean of a vector.
  static Value reduce(const Value& v, bool mean) {
    if (mean) {
      double s = 0;
      for (double x : v.data) s += x;
      return {{}, {s / static_cast<double>(v.data.size())}};
    }
    const auto k = static_cast<std::size_t>(v.shape.back());
    Value out{{v.shape[0]}, std::vector<double>(v.data.size() / k, 0.0)};
    for (std::size_t i = 0; i < v.data.size(); ++i) out.data[i / k] += v.data[i];
    return out;
  }
  std::map<std::string, const GraphOp*> ops_;
};

// The deterministic loss: on logits z and smoothed targets t, −mean_i Σ_j t_ij log softmax(z_i)_j,
// and its derivative in z is (softmax(z) − t)/n (checked by central differences).
TEST(GraphPlan, DeterministicLossIsTheSmoothedCrossEntropyWithItsGradient) {
  PlanOptions options;
  options.deterministic = true;
  const auto p = plan_with(spec_with({}), options);
  const std::vector<double> logits = {0.5, -1.0, 2.0, 0.1, 0.0, 0.3, -0.2, 1.5, 0.7, -0.4,
                                      1.0, 1.1, -2.0, 0.0, 0.2, 0.4, 0.9, -0.8, 0.6, 0.05};
  const auto targets = smoothed_targets({2, 7}, 10, 0.1);
  const auto loss_at = [&](const std::vector<double>& z) {
    Interpreter run(p);
    run.values[p.train_logits.op] = {{2, 10}, z};
    run.values[p.targets] = {{2, 10}, std::vector<double>(targets.begin(), targets.end())};
    return run.eval(p.loss).data.at(0);
  };
  double expected = 0;
  for (std::size_t i = 0; i < 2; ++i) {
    double sum = 0;
    for (std::size_t j = 0; j < 10; ++j) sum += std::exp(logits[i * 10 + j]);
    for (std::size_t j = 0; j < 10; ++j) {
      expected -= targets[i * 10 + j] * (logits[i * 10 + j] - std::log(sum));
    }
  }
  EXPECT_NEAR(loss_at(logits), expected / 2, 1e-6);
  for (std::size_t i : {0u, 3u, 17u}) {
    auto up = logits, down = logits;
    up[i] += 1e-5;
    down[i] -= 1e-5;
    const std::size_t row = i / 10;
    double sum = 0;
    for (std::size_t j = 0; j < 10; ++j) sum += std::exp(logits[row * 10 + j]);
    const double analytic = (std::exp(logits[i]) / sum - targets[i]) / 2;
    EXPECT_NEAR((loss_at(up) - loss_at(down)) / 2e-5, analytic, 1e-6) << i;
  }
}

// Three AdamW steps of the planned ops against the definition (torch backend, PyTorch 1.13).
TEST(GraphPlan, AdamwUpdateIsPyTorchsAdamW) {
  OptimizerConfig opt;
  opt.kind = OptimizerConfig::Kind::adamw;
  opt.weight_decay = 0.05;
  opt.beta1 = 0.8;
  opt.beta2 = 0.95;
  opt.eps = 1e-3;
  const auto p = plan(spec_with({}), opt);
  EXPECT_FALSE(has_type(p, "ResourceApplyMomentum"));
  std::map<std::string, std::vector<double>> w, m, v;  // reference, by variable
  Interpreter run(p);
  for (int index : p.trainable) {
    const auto& var = p.variables[static_cast<std::size_t>(index)];
    ASSERT_FALSE(var.second_moment_init_assign.empty()) << var.spec_name;
    std::int64_t n = 1;
    for (auto d : var.tf_shape) n *= d;
    std::vector<double> init(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < init.size(); ++i) init[i] = std::sin(1.0 + static_cast<double>(i));
    w[var.spec_name] = init;
    m[var.spec_name] = v[var.spec_name] = std::vector<double>(init.size(), 0.0);
    run.state[var.handle] = {var.tf_shape, init};
    run.state[var.momentum_handle] = run.state[var.second_moment_handle] =
        {var.tf_shape, std::vector<double>(init.size(), 0.0)};
  }
  const double lr = 0.01;
  for (std::int64_t step = 1; step <= 3; ++step) {
    Interpreter s(p);
    s.state = run.state;
    const auto k = adamw_scalars(opt, lr, step);
    s.values[p.adam_decay_factor] = {{}, {k.decay_factor}};
    s.values[p.adam_step_size] = {{}, {k.step_size}};
    s.values[p.adam_sqrt_correction2] = {{}, {k.sqrt_correction2}};
    for (std::size_t j = 0; j < p.trainable.size(); ++j) {
      const auto& var = p.variables[static_cast<std::size_t>(p.trainable[j])];
      s.values[var.read] = s.state.at(var.handle);
      Value g{var.tf_shape, {}};
      for (std::size_t i = 0; i < w[var.spec_name].size(); ++i) {
        g.data.push_back(std::cos(static_cast<double>(i * 7 + j) + static_cast<double>(step)));
      }
      s.gradients.push_back(g);
      // The definition, in double.
      auto& W = w[var.spec_name];
      auto& M = m[var.spec_name];
      auto& V = v[var.spec_name];
      const double c1 = 1 - std::pow(opt.beta1, static_cast<double>(step));
      const double c2 = 1 - std::pow(opt.beta2, static_cast<double>(step));
      for (std::size_t i = 0; i < W.size(); ++i) {
        W[i] *= 1 - lr * opt.weight_decay;
        M[i] = opt.beta1 * M[i] + (1 - opt.beta1) * g.data[i];
        V[i] = opt.beta2 * V[i] + (1 - opt.beta2) * g.data[i] * g.data[i];
        W[i] -= lr / c1 * M[i] / (std::sqrt(V[i]) / std::sqrt(c2) + opt.eps);
      }
    }
    for (const auto& t : p.step_targets) s.run(t);
    run.state = s.state;
  }
  for (int index : p.trainable) {
    const auto& var = p.variables[static_cast<std::size_t>(index)];
    const auto& got = run.state.at(var.handle).data;
    const auto& want = w[var.spec_name];
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(got[i], want[i], 1e-6) << var.spec_name << "[" << i << "]";
    }
  }
}

TEST(GraphPlan, AdamwHyperparametersOutsideTheirRangeAreInputErrors) {
  OptimizerConfig opt;
  opt.kind = OptimizerConfig::Kind::adamw;
  opt.beta1 = 1.0;  // bias correction 1 − beta1^t would be 0
  EXPECT_THROW(plan(spec_with({}), opt), InputError);
  opt.beta1 = 0.9;
  opt.eps = 0;
  EXPECT_THROW(plan(spec_with({}), opt), InputError);
}

TEST(GraphPlan, SgdPlansNoSecondMoment) {
  const auto p = plan(spec_with({}));
  for (const auto& v : p.variables) EXPECT_TRUE(v.second_moment_init_assign.empty());
  EXPECT_TRUE(p.adam_step_size.empty());
}

TEST(AdamwScalars, AreTheBiasCorrectionsOfTheStep) {
  OptimizerConfig opt;
  opt.weight_decay = 0.1;
  opt.beta1 = 0.9;
  opt.beta2 = 0.99;
  const auto k = adamw_scalars(opt, 0.5, 2);
  EXPECT_FLOAT_EQ(k.decay_factor, 0.95f);
  EXPECT_FLOAT_EQ(k.step_size, static_cast<float>(0.5 / (1 - 0.81)));
  EXPECT_FLOAT_EQ(k.sqrt_correction2, static_cast<float>(std::sqrt(1 - 0.99 * 0.99)));
}

}  // namespace
}  // namespace cb::backends::tf
