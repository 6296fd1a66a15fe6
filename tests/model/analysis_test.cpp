// Shape inference, validation with the faulty layer named, and per-layer counts.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "model/analysis.h"
#include "model/zoo.h"

namespace cb::model {
namespace {

Layer layer(const std::string& name, Op op) {
  Layer l;
  l.name = name;
  l.op = op;
  return l;
}

Layer conv(const std::string& name, int out, int kernel, int stride, int padding) {
  Layer l = layer(name, Op::conv2d);
  l.out_channels = out;
  l.kernel = kernel;
  l.stride = stride;
  l.padding = padding;
  return l;
}

Layer linear(const std::string& name, int out) {
  Layer l = layer(name, Op::linear);
  l.out_features = out;
  l.bias = true;
  return l;
}

// input 3×8×8 → conv 4 (3×3, pad 1) → relu → global pool → flatten → linear 10
ModelSpec small_model() {
  ModelSpec spec;
  spec.name = "small";
  spec.input = {3, 8, 8};
  spec.num_classes = 10;
  spec.layers = {layer("input", Op::input),     conv("conv", 4, 3, 1, 1),
                 layer("relu", Op::relu),       layer("pool", Op::global_avg_pool),
                 layer("flatten", Op::flatten), linear("fc", 10)};
  return spec;
}

// Runs shape inference and returns the error message ("" if the spec is valid).
std::string inference_error(ModelSpec spec) {
  try {
    infer_shapes(spec);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ShapeInference, FillsEveryLayersOutputShape) {
  auto spec = small_model();
  infer_shapes(spec);
  EXPECT_EQ(spec.layers[0].out, (Shape{3, 8, 8}));
  EXPECT_EQ(spec.layers[1].out, (Shape{4, 8, 8}));
  EXPECT_EQ(spec.layers[3].out, (Shape{4, 1, 1}));
  EXPECT_EQ(spec.layers[5].out, (Shape{10, 1, 1}));
}

TEST(ShapeInference, ConvolutionAndPoolingUseFloorMode) {
  auto spec = small_model();
  spec.layers[1] = conv("conv", 4, 3, 2, 0);  // (8 - 3) / 2 + 1 = 3
  Layer pool = layer("maxpool", Op::max_pool);
  pool.kernel = 2;
  pool.stride = 2;  // 3 / 2 = 1 (floor)
  spec.layers.insert(spec.layers.begin() + 2, pool);
  infer_shapes(spec);
  EXPECT_EQ(spec.layers[1].out, (Shape{4, 3, 3}));
  EXPECT_EQ(spec.layers[2].out, (Shape{4, 1, 1}));
}

TEST(ShapeInference, FlattenMultipliesOutTheImage) {
  ModelSpec spec;
  spec.name = "flat";
  spec.input = {2, 3, 4};
  spec.num_classes = 5;
  spec.layers = {layer("input", Op::input), layer("flatten", Op::flatten), linear("fc", 5)};
  infer_shapes(spec);
  EXPECT_EQ(spec.layers[1].out, (Shape{24, 1, 1}));
}

TEST(ShapeInference, SubsampleKeepsEveryStrideThPixelIncludingTheLastPartialStep) {
  auto spec = small_model();
  spec.input = {3, 7, 7};
  Layer sub = layer("sub", Op::subsample);
  sub.stride = 2;
  spec.layers.insert(spec.layers.begin() + 1, sub);
  infer_shapes(spec);
  EXPECT_EQ(spec.layers[1].out, (Shape{3, 4, 4}));
}

TEST(ShapeInference, RefusesAnUnknownInputIndexNamingTheLayer) {
  auto spec = small_model();
  spec.layers[2].inputs = {7};
  const auto error = inference_error(spec);
  EXPECT_TRUE(contains(error, "layer 'relu'")) << error;
  EXPECT_TRUE(contains(error, "input index 7")) << error;
}

TEST(ShapeInference, RefusesAnInputThatIsNotEarlier) {
  auto spec = small_model();
  spec.layers[2].inputs = {2};
  EXPECT_TRUE(contains(inference_error(spec), "layer 'relu'"));
}

TEST(ShapeInference, RefusesAnAddOfDifferentShapesNamingTheLayer) {
  auto spec = small_model();
  Layer add = layer("sum", Op::add);
  add.inputs = {0, 1};  // 3×8×8 + 4×8×8
  spec.layers.insert(spec.layers.begin() + 2, add);
  const auto error = inference_error(spec);
  EXPECT_TRUE(contains(error, "layer 'sum'")) << error;
  EXPECT_TRUE(contains(error, "different shapes")) << error;
}

TEST(ShapeInference, RefusesAnAddWithOneInput) {
  auto spec = small_model();
  Layer add = layer("sum", Op::add);
  spec.layers.insert(spec.layers.begin() + 2, add);
  EXPECT_TRUE(contains(inference_error(spec), "layer 'sum'"));
}

TEST(ShapeInference, RefusesALinearLayerOnANonFlatInputNamingTheLayer) {
  auto spec = small_model();
  spec.layers.erase(spec.layers.begin() + 3, spec.layers.begin() + 5);  // no pool, no flatten
  const auto error = inference_error(spec);
  EXPECT_TRUE(contains(error, "layer 'fc'")) << error;
  EXPECT_TRUE(contains(error, "not flat")) << error;
}

TEST(ShapeInference, RefusesAKernelLargerThanItsInputNamingTheLayer) {
  auto spec = small_model();
  spec.layers[1] = conv("conv", 4, 9, 1, 0);
  const auto error = inference_error(spec);
  EXPECT_TRUE(contains(error, "layer 'conv'")) << error;
  EXPECT_TRUE(contains(error, "larger than")) << error;
}

TEST(ShapeInference, RefusesDuplicateLayerNames) {
  auto spec = small_model();
  spec.layers[2].name = "conv";
  const auto error = inference_error(spec);
  EXPECT_TRUE(contains(error, "layer 'conv'")) << error;
  EXPECT_TRUE(contains(error, "duplicate")) << error;
}

TEST(ShapeInference, RefusesZeroOutputChannelsNamingTheLayer) {
  auto spec = small_model();
  spec.layers[1].out_channels = 0;
  const auto error = inference_error(spec);
  EXPECT_TRUE(contains(error, "layer 'conv'")) << error;
  EXPECT_TRUE(contains(error, "out_channels")) << error;
}

TEST(ShapeInference, RefusesZeroInputChannels) {
  auto spec = small_model();
  spec.input = {0, 8, 8};
  EXPECT_TRUE(contains(inference_error(spec), "layer 'input'"));
}

TEST(ShapeInference, RefusesGroupsThatDoNotDivideTheChannels) {
  auto spec = small_model();
  spec.layers[1].groups = 2;  // 3 input channels
  const auto error = inference_error(spec);
  EXPECT_TRUE(contains(error, "layer 'conv'")) << error;
  EXPECT_TRUE(contains(error, "groups")) << error;
}

TEST(ShapeInference, RefusesAFirstLayerThatIsNotTheInput) {
  auto spec = small_model();
  spec.layers.erase(spec.layers.begin());
  EXPECT_TRUE(contains(inference_error(spec), "first layer must be the input"));
}

TEST(ShapeInference, RefusesASecondInputLayer) {
  auto spec = small_model();
  spec.layers[2] = layer("again", Op::input);
  EXPECT_TRUE(contains(inference_error(spec), "layer 'again'"));
}

TEST(ShapeInference, RefusesLogitsThatDoNotMatchTheClassCount) {
  auto spec = small_model();
  spec.num_classes = 7;
  const auto error = inference_error(spec);
  EXPECT_TRUE(contains(error, "layer 'fc'")) << error;
  EXPECT_TRUE(contains(error, "logits")) << error;
}

TEST(ShapeInference, RefusesANameOutsideThePortableAlphabet) {
  auto spec = small_model();
  spec.layers[2].name = "re lu";
  EXPECT_TRUE(contains(inference_error(spec), "'re lu'"));
}

TEST(ShapeInference, RefusesPadChannelsThatWouldDropChannels) {
  auto spec = small_model();
  Layer pad = layer("pad", Op::pad_channels);
  pad.out_channels = 2;  // conv gives 4
  spec.layers.insert(spec.layers.begin() + 2, pad);
  EXPECT_TRUE(contains(inference_error(spec), "layer 'pad'"));
}

TEST(ShapeInference, RefusesADropoutProbabilityOfOne) {
  auto spec = small_model();
  Layer drop = layer("drop", Op::dropout);
  drop.p = 1.0;
  spec.layers.insert(spec.layers.begin() + 2, drop);
  EXPECT_TRUE(contains(inference_error(spec), "layer 'drop'"));
}

TEST(ParameterShapes, FollowTheSpecLayouts) {
  auto spec = small_model();
  spec.layers[1].bias = true;
  Layer bn = layer("bn", Op::batch_norm);
  spec.layers.insert(spec.layers.begin() + 2, bn);
  infer_shapes(spec);
  const auto shapes = parameter_shapes(spec);
  ASSERT_EQ(shapes.size(), 8u);
  EXPECT_EQ(shapes[0].name, "conv.weight");
  EXPECT_EQ(shapes[0].shape, (std::vector<std::int64_t>{4, 3, 3, 3}));
  EXPECT_EQ(shapes[1].name, "conv.bias");
  EXPECT_EQ(shapes[2].name, "bn.weight");
  EXPECT_EQ(shapes[4].name, "bn.running_mean");
  EXPECT_FALSE(shapes[4].trainable);
  EXPECT_FALSE(shapes[5].trainable);
  EXPECT_EQ(shapes[6].name, "fc.weight");
  EXPECT_EQ(shapes[6].shape, (std::vector<std::int64_t>{10, 4}));
}

TEST(LayerCosts, CountConvolutionMultiplyAddsAsTwoFlops) {
  auto spec = small_model();
  infer_shapes(spec);
  const auto costs = layer_costs(spec);
  EXPECT_EQ(costs[1].parameters, 4 * 3 * 3 * 3);
  EXPECT_EQ(costs[1].flops, 2LL * 4 * 8 * 8 * 3 * 3 * 3);
  EXPECT_EQ(costs[2].flops, 4 * 8 * 8);        // relu: one per element
  EXPECT_EQ(costs[3].flops, 4 * 8 * 8);        // global pool: one per input element
  EXPECT_EQ(costs[4].flops, 0);                // flatten moves data only
  EXPECT_EQ(costs[5].flops, 2 * 10 * 4 + 10);  // linear plus its bias
  EXPECT_EQ(costs[5].parameters, 10 * 4 + 10);
}

TEST(LayerCosts, CountBatchNormStatisticsAsBuffersNotParameters) {
  auto spec = small_model();
  spec.layers.insert(spec.layers.begin() + 2, layer("bn", Op::batch_norm));
  infer_shapes(spec);
  const auto costs = layer_costs(spec);
  EXPECT_EQ(costs[2].parameters, 8);
  EXPECT_EQ(costs[2].buffers, 8);
  EXPECT_EQ(parameter_count(spec), 108 + 8 + 50);
}

TEST(OpNames, RoundTripEveryOp) {
  for (const auto& name : op_names()) {
    const auto op = op_from_name(name);
    ASSERT_TRUE(op.has_value()) << name;
    EXPECT_EQ(op_name(*op), name);
  }
  EXPECT_FALSE(op_from_name("conv3d").has_value());
}

TEST(OpNames, AreKnownAtCompileTime) {
  static_assert(op_name(Op::input) == "input");
  static_assert(op_name(Op::gelu) == "gelu");
  static_assert(op_from_name("batch_norm") == Op::batch_norm);
  EXPECT_EQ(op_names().size(), kOpCount);
}

TEST(Analyse, AgreesWithTheSeparateAnalysesOnEveryZooModel) {
  for (const auto& name : zoo_names()) {
    ModelSpec spec = build_zoo_model(name, 10);
    const AnalysedModel m = analyse(spec);
    infer_shapes(spec);
    ASSERT_EQ(m.layers.size(), spec.layers.size()) << name;
    const auto costs = layer_costs(spec);
    for (std::size_t i = 0; i < spec.layers.size(); ++i) {
      const auto index = static_cast<int>(i);
      EXPECT_EQ(m.spec.layers[i].out, spec.layers[i].out) << name << " " << i;
      EXPECT_EQ(m.layers[i].out, spec.layers[i].out) << name << " " << i;
      EXPECT_EQ(m.layers[i].inputs, resolved_inputs(spec, index)) << name << " " << i;
      if (i > 0) {
        EXPECT_EQ(m.layers[i].in, spec.layers[static_cast<std::size_t>(m.layers[i].inputs[0])].out);
      }
      EXPECT_EQ(m.layers[i].cost.parameters, costs[i].parameters) << name << " " << i;
      EXPECT_EQ(m.layers[i].cost.buffers, costs[i].buffers) << name << " " << i;
      EXPECT_EQ(m.layers[i].cost.flops, costs[i].flops) << name << " " << i;
    }
    const auto shapes = parameter_shapes(spec);
    const auto tensors = m.tensors();
    ASSERT_EQ(tensors.size(), shapes.size()) << name;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      EXPECT_EQ(tensors[i].name, shapes[i].name);
      EXPECT_EQ(tensors[i].shape, shapes[i].shape);
      EXPECT_EQ(tensors[i].trainable, shapes[i].trainable);
    }
    EXPECT_EQ(m.parameters, parameter_count(spec)) << name;
    EXPECT_EQ(m.flops, flop_count(spec)) << name;
  }
}

TEST(Analyse, GivesEveryTensorItsRole) {
  auto spec = small_model();
  spec.layers.insert(spec.layers.begin() + 2, layer("bn", Op::batch_norm));
  const AnalysedModel m = analyse(spec);
  const auto& bn = m.layers[2].tensors;
  ASSERT_EQ(bn.size(), 4u);
  EXPECT_EQ(bn[0].role, TensorRole::weight);
  EXPECT_EQ(bn[1].role, TensorRole::bias);
  EXPECT_EQ(bn[2].role, TensorRole::running_mean);
  EXPECT_EQ(bn[3].role, TensorRole::running_var);
  EXPECT_EQ(m.layers[6].tensors[1].role, TensorRole::bias);  // fc.bias
  EXPECT_EQ(m.buffers, 8);
}

TEST(Analyse, RefusesAnInvalidSpecNamingTheLayer) {
  auto spec = small_model();
  spec.layers.erase(spec.layers.begin() + 4);  // no flatten: fc is fine (pool gives C×1×1)
  spec.layers.erase(spec.layers.begin() + 3);  // no pool either: fc sees 4×8×8
  try {
    analyse(spec);
    FAIL() << "analyse accepted a linear layer on a 4×8×8 input";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "layer 'fc'")) << e.what();
  }
}

}  // namespace
}  // namespace cb::model
