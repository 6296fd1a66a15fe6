#include "model/initial_weights.h"

#include <cmath>

#include "core/rng.h"
#include "model/analysis.h"

namespace cb::model {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

const Layer& owner(const ModelSpec& spec, std::string_view tensor_name) {
  const auto layer_name = tensor_name.substr(0, tensor_name.rfind('.'));
  for (const auto& l : spec.layers) {
    if (l.name == layer_name) return l;
  }
  return spec.layers.front();  // unreachable: parameter_shapes names only existing layers
}

void fill_uniform(Rng& rng, std::vector<float>& values, double bound) {
  for (auto& v : values) v = static_cast<float>(rng.uniform(-bound, bound));
}

}  // namespace

std::uint64_t stable_hash(std::string_view text) {
  std::uint64_t h = 0xCBF29CE484222325ULL;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 0x100000001B3ULL;
  }
  return h;
}

Weights initial_weights(const ModelSpec& spec, std::uint64_t seed) {
  Weights weights;
  for (const auto& p : parameter_shapes(spec)) {
    NamedTensor t;
    t.name = p.name;
    t.trainable = p.trainable;
    t.tensor.shape = p.shape;
    t.tensor.values.assign(static_cast<std::size_t>(t.tensor.numel()), 0.0f);
    const Layer& layer = owner(spec, p.name);
    Rng rng(seed, {stable_hash(p.name)});
    auto& v = t.tensor.values;
    if (layer.op == Op::conv2d) {
      if (ends_with(p.name, ".weight")) {
        const double fan_out =
            static_cast<double>(layer.out_channels) * layer.kernel * layer.kernel / layer.groups;
        const double std = std::sqrt(2.0 / fan_out);
        for (auto& x : v) x = static_cast<float>(std * rng.normal());
      } else {
        const NamedTensor* w = weights.find(layer.name + ".weight");
        const auto& ws = w->tensor.shape;  // [out, in/groups, k, k], generated just before
        const double fan_in = static_cast<double>(ws[1] * ws[2] * ws[3]);
        fill_uniform(rng, v, 1.0 / std::sqrt(fan_in));
      }
    } else if (layer.op == Op::linear) {
      // The bias uses its weight's fan-in, [out, in]: the weight precedes it.
      const NamedTensor* w = weights.find(layer.name + ".weight");
      const double fan_in = static_cast<double>(w ? w->tensor.shape[1] : p.shape[1]);
      fill_uniform(rng, v, 1.0 / std::sqrt(fan_in));
    } else if (ends_with(p.name, ".weight") || ends_with(p.name, ".running_var")) {
      for (auto& x : v) x = 1.0f;  // batch norm: weight 1, running_var 1; bias and mean stay 0
    }
    weights.tensors.push_back(std::move(t));
  }
  return weights;
}

}  // namespace cb::model
