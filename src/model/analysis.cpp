#include "model/analysis.h"

#include <fmt/format.h>

#include <cmath>
#include <set>

#include "core/error.h"

namespace cb::model {
namespace {

std::string shape_text(const Shape& s) { return fmt::format("{}×{}×{}", s.c, s.h, s.w); }

// Layer names prefix tensor names and appear in files, so keep them to a portable alphabet.
bool valid_layer_name(const std::string& name) {
  if (name.empty() || name.size() > 200) return false;
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

class LayerChecker {
 public:
  LayerChecker(const ModelSpec& spec, int index) : spec_(spec), index_(index) {}

  [[noreturn]] void fail(const std::string& what) const {
    const Layer& l = spec_.layers[static_cast<std::size_t>(index_)];
    throw InputError(fmt::format("model '{}': layer '{}' ({}, #{}): {}", spec_.name, l.name,
                                 op_name(l.op), index_, what));
  }
  void require(bool ok, const std::string& what) const {
    if (!ok) fail(what);
  }

 private:
  const ModelSpec& spec_;
  int index_;
};

// Floor-mode output size of a window sliding over `size` padded by `padding` on both sides.
int window_output(const LayerChecker& check, int size, int kernel, int stride, int padding,
                  const char* axis) {
  check.require(kernel >= 1, fmt::format("kernel must be at least 1, got {}", kernel));
  check.require(stride >= 1, fmt::format("stride must be at least 1, got {}", stride));
  check.require(padding >= 0, fmt::format("padding must be at least 0, got {}", padding));
  const int padded = size + 2 * padding;
  check.require(kernel <= padded, fmt::format("kernel {} is larger than the padded input {} ({} {} "
                                              "+ 2×{} padding)",
                                              kernel, padded, axis, size, padding));
  return (padded - kernel) / stride + 1;
}

Shape infer_layer(const ModelSpec& spec, int index, const std::vector<Shape>& in_shapes) {
  const Layer& l = spec.layers[static_cast<std::size_t>(index)];
  const LayerChecker check(spec, index);
  const Shape& x = in_shapes.front();
  switch (l.op) {
    case Op::input:
      check.fail("only the first layer may be the input");
    case Op::conv2d: {
      check.require(l.out_channels >= 1,
                    fmt::format("out_channels must be at least 1, got {}", l.out_channels));
      check.require(l.groups >= 1, fmt::format("groups must be at least 1, got {}", l.groups));
      check.require(x.c % l.groups == 0 && l.out_channels % l.groups == 0,
                    fmt::format("groups {} must divide both the input channels {} and "
                                "out_channels {}",
                                l.groups, x.c, l.out_channels));
      const int h = window_output(check, x.h, l.kernel, l.stride, l.padding, "height");
      const int w = window_output(check, x.w, l.kernel, l.stride, l.padding, "width");
      return {l.out_channels, h, w};
    }
    case Op::max_pool:
    case Op::avg_pool: {
      // PyTorch refuses more padding than half the window; so do we, so that every backend can.
      check.require(
          l.padding <= l.kernel / 2,
          fmt::format("padding {} must be at most half the kernel {}", l.padding, l.kernel));
      const int h = window_output(check, x.h, l.kernel, l.stride, l.padding, "height");
      const int w = window_output(check, x.w, l.kernel, l.stride, l.padding, "width");
      return {x.c, h, w};
    }
    case Op::batch_norm:
      check.require(l.momentum >= 0.0 && l.momentum <= 1.0,
                    fmt::format("momentum must be in [0, 1], got {}", l.momentum));
      check.require(l.eps > 0.0, fmt::format("eps must be positive, got {}", l.eps));
      return x;
    case Op::relu:
    case Op::gelu:
      return x;
    case Op::scale:
      check.require(std::isfinite(l.scale), "scale must be a finite number");
      return x;
    case Op::dropout:
      check.require(l.p >= 0.0 && l.p < 1.0, fmt::format("p must be in [0, 1), got {}", l.p));
      return x;
    case Op::global_avg_pool:
      return {x.c, 1, 1};
    case Op::flatten: {
      const std::int64_t n = x.numel();
      check.require(n <= 0x7fffffff, "flattened size does not fit in 32 bits");
      return {static_cast<int>(n), 1, 1};
    }
    case Op::linear:
      check.require(x.h == 1 && x.w == 1,
                    fmt::format("input {} is not flat (C×1×1); add a flatten or a "
                                "global_avg_pool before it",
                                shape_text(x)));
      check.require(l.out_features >= 1,
                    fmt::format("out_features must be at least 1, got {}", l.out_features));
      return {l.out_features, 1, 1};
    case Op::add:
      check.require(in_shapes.size() == 2,
                    fmt::format("needs exactly 2 inputs, got {}", in_shapes.size()));
      check.require(in_shapes[0] == in_shapes[1],
                    fmt::format("inputs have different shapes {} and {}", shape_text(in_shapes[0]),
                                shape_text(in_shapes[1])));
      return x;
    case Op::pad_channels:
      check.require(
          l.out_channels >= x.c,
          fmt::format("out_channels {} is fewer than the input channels {}", l.out_channels, x.c));
      return {l.out_channels, x.h, x.w};
    case Op::subsample:
      check.require(l.stride >= 1, fmt::format("stride must be at least 1, got {}", l.stride));
      return {x.c, (x.h - 1) / l.stride + 1, (x.w - 1) / l.stride + 1};
  }
  check.fail(fmt::format("unknown op {}", static_cast<int>(l.op)));
}

// The shape of a layer's first input (the input layer's: the image's). Needs inferred shapes.
Shape first_input_shape(const ModelSpec& spec, int index) {
  const Layer& l = spec.layers[static_cast<std::size_t>(index)];
  if (l.op == Op::input) return spec.input;
  const int from = l.inputs.empty() ? index - 1 : l.inputs.front();
  return spec.layers[static_cast<std::size_t>(from)].out;
}

// The tensors one layer owns, given its first input's shape `x`.
std::vector<ParameterShape> layer_tensors(const Layer& l, const Shape& x) {
  const std::int64_t in_c = x.c;
  std::vector<ParameterShape> out;
  switch (l.op) {
    case Op::conv2d:
      out.push_back({l.name + ".weight", {l.out_channels, in_c / l.groups, l.kernel, l.kernel}});
      if (l.bias) out.push_back({l.name + ".bias", {l.out_channels}, true, TensorRole::bias});
      break;
    case Op::batch_norm:
      if (l.affine) {
        out.push_back({l.name + ".weight", {in_c}});
        out.push_back({l.name + ".bias", {in_c}, true, TensorRole::bias});
      }
      out.push_back({l.name + ".running_mean", {in_c}, false, TensorRole::running_mean});
      out.push_back({l.name + ".running_var", {in_c}, false, TensorRole::running_var});
      break;
    case Op::linear:
      out.push_back({l.name + ".weight", {l.out_features, in_c}});
      if (l.bias) out.push_back({l.name + ".bias", {l.out_features}, true, TensorRole::bias});
      break;
    default:
      break;
  }
  return out;
}

// One layer's parameter, buffer and FLOP counts (docs/models.md), given its first input's
// shape `x` and its tensors.
LayerCost layer_cost(const Layer& l, const Shape& x, const std::vector<ParameterShape>& tensors) {
  LayerCost cost;
  for (const auto& p : tensors) {
    std::int64_t n = 1;
    for (auto d : p.shape) n *= d;
    (p.trainable ? cost.parameters : cost.buffers) += n;
  }
  const std::int64_t out_n = l.out.numel();
  std::int64_t& f = cost.flops;
  switch (l.op) {
    case Op::conv2d:
      f = 2 * out_n * (x.c / l.groups) * l.kernel * l.kernel + (l.bias ? out_n : 0);
      break;
    case Op::linear:
      f = 2 * out_n * x.c + (l.bias ? out_n : 0);
      break;
    case Op::batch_norm:
      f = 2 * out_n;  // folded into one scale and shift per element
      break;
    case Op::relu:
    case Op::gelu:
    case Op::scale:
    case Op::add:
      f = out_n;
      break;
    case Op::max_pool:
    case Op::avg_pool:
      f = out_n * l.kernel * l.kernel;
      break;
    case Op::global_avg_pool:
      f = x.numel();
      break;
    default:
      f = 0;  // the input, and data movement only: flatten, dropout, pad_channels, subsample
      break;
  }
  return cost;
}

}  // namespace

std::vector<int> resolved_inputs(const ModelSpec& spec, int layer_index) {
  const Layer& l = spec.layers[static_cast<std::size_t>(layer_index)];
  if (!l.inputs.empty()) return l.inputs;
  if (layer_index == 0) return {};
  return {layer_index - 1};
}

void infer_shapes(ModelSpec& spec) {
  if (spec.layers.empty()) {
    throw InputError(
        fmt::format("model '{}': has no layers (the first must be the input)", spec.name));
  }
  if (spec.num_classes < 1) {
    throw InputError(fmt::format("model '{}': num_classes must be at least 1, got {}", spec.name,
                                 spec.num_classes));
  }
  std::set<std::string, std::less<>> names;
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    Layer& l = spec.layers[i];
    const int index = static_cast<int>(i);
    const LayerChecker check(spec, index);
    if (!valid_layer_name(l.name)) {
      throw InputError(fmt::format(
          "model '{}': layer #{} ({}) has the name '{}'; names must be 1 to 200 characters of "
          "letters, digits, '_', '.' and '-'",
          spec.name, index, op_name(l.op), l.name));
    }
    if (!names.insert(l.name).second) check.fail("duplicate layer name");
    if (i == 0) {
      check.require(l.op == Op::input, "the first layer must be the input");
      check.require(l.inputs.empty(), "the input layer takes no inputs");
      check.require(
          spec.input.c >= 1 && spec.input.h >= 1 && spec.input.w >= 1,
          fmt::format("input shape {} has a zero or negative size", shape_text(spec.input)));
      l.out = spec.input;
      continue;
    }
    std::vector<Shape> in_shapes;
    for (int j : resolved_inputs(spec, index)) {
      check.require(
          j >= 0 && j < index,
          fmt::format("input index {} does not name an earlier layer (0 to {})", j, index - 1));
      in_shapes.push_back(spec.layers[static_cast<std::size_t>(j)].out);
    }
    check.require(l.op == Op::add || in_shapes.size() == 1,
                  fmt::format("takes exactly 1 input, got {}", in_shapes.size()));
    l.out = infer_layer(spec, index, in_shapes);
    check.require(l.out.c >= 1 && l.out.h >= 1 && l.out.w >= 1,
                  fmt::format("output shape {} has zero channels or pixels", shape_text(l.out)));
  }
  const int last = static_cast<int>(spec.layers.size()) - 1;
  const Shape logits{spec.num_classes, 1, 1};
  LayerChecker(spec, last)
      .require(spec.layers.back().out == logits,
               fmt::format("the last layer must output the logits {}, but outputs {}",
                           shape_text(logits), shape_text(spec.layers.back().out)));
}

std::vector<ParameterShape> parameter_shapes(const ModelSpec& spec) {
  std::vector<ParameterShape> out;
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    for (auto& p : layer_tensors(spec.layers[i], first_input_shape(spec, static_cast<int>(i)))) {
      out.push_back(std::move(p));
    }
  }
  return out;
}

std::vector<LayerCost> layer_costs(const ModelSpec& spec) {
  std::vector<LayerCost> costs(spec.layers.size());
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    const Layer& l = spec.layers[i];
    const Shape x = first_input_shape(spec, static_cast<int>(i));
    costs[i] = layer_cost(l, x, layer_tensors(l, x));
  }
  return costs;
}

std::int64_t parameter_count(const ModelSpec& spec) {
  std::int64_t n = 0;
  for (const auto& c : layer_costs(spec)) n += c.parameters;
  return n;
}

std::int64_t flop_count(const ModelSpec& spec) {
  std::int64_t n = 0;
  for (const auto& c : layer_costs(spec)) n += c.flops;
  return n;
}

std::vector<ParameterShape> AnalysedModel::tensors() const {
  std::vector<ParameterShape> out;
  for (const auto& l : layers) out.insert(out.end(), l.tensors.begin(), l.tensors.end());
  return out;
}

AnalysedModel analyse(const ModelSpec& spec) {
  AnalysedModel m;
  m.spec = spec;
  infer_shapes(m.spec);
  m.layers.resize(m.spec.layers.size());
  for (std::size_t i = 0; i < m.spec.layers.size(); ++i) {
    const Layer& l = m.spec.layers[i];
    LayerAnalysis& a = m.layers[i];
    a.inputs = resolved_inputs(m.spec, static_cast<int>(i));
    a.in = first_input_shape(m.spec, static_cast<int>(i));
    a.out = l.out;
    a.tensors = layer_tensors(l, a.in);
    a.cost = layer_cost(l, a.in, a.tensors);
    m.parameters += a.cost.parameters;
    m.buffers += a.cost.buffers;
    m.flops += a.cost.flops;
  }
  return m;
}

}  // namespace cb::model
