#include "backends/dlib/layer_signature.h"

#include <fmt/format.h>

#include "core/error.h"

namespace cb::backends::dlib_backend {
namespace {
using model::Op;

std::string op_label(Op op) { return std::string(model::op_name(op)); }
}  // namespace

std::string describe(const LayerSignature& l) {
  switch (l.op) {
    case Op::conv2d:
      return fmt::format("conv2d({} filters, {}x{}, stride {}, padding {})", l.channels, l.kernel,
                         l.kernel, l.stride, l.padding);
    case Op::max_pool:
    case Op::avg_pool:
      return fmt::format("{}({}x{}, stride {}, padding {})", op_label(l.op), l.kernel, l.kernel,
                         l.stride, l.padding);
    case Op::subsample:
      return fmt::format("subsample(stride {})", l.stride);
    default:
      return op_label(l.op);
  }
}

std::vector<LayerSignature> spec_signature(const model::ModelSpec& spec) {
  std::vector<LayerSignature> out;
  for (const auto& layer : spec.layers) {
    auto refuse = [&](const std::string& why) {
      throw Unsupported(fmt::format("model '{}', layer '{}' ({}): {}", spec.name, layer.name,
                                    op_label(layer.op), why));
    };
    switch (layer.op) {
      case Op::input:
      case Op::flatten:
      case Op::pad_channels:
        break;
      case Op::conv2d:
        if (layer.groups != 1) refuse("dlib's con_ has no grouped convolution");
        out.push_back({Op::conv2d, layer.out_channels, layer.kernel, layer.stride, layer.padding});
        break;
      case Op::batch_norm:
        if (!layer.affine) refuse("dlib's bn_ always learns a scale and a shift (affine)");
        out.push_back({Op::batch_norm});
        break;
      case Op::max_pool:
      case Op::avg_pool:
        out.push_back({layer.op, 0, layer.kernel, layer.stride, layer.padding});
        break;
      case Op::linear:
        out.push_back({Op::linear});  // dlib's fc_ takes its output count at run time
        break;
      case Op::subsample:
        out.push_back({Op::subsample, 0, 0, layer.stride, 0});
        break;
      case Op::relu:
      case Op::global_avg_pool:
      case Op::add:
        out.push_back({layer.op});
        break;
      case Op::dropout:
        // dlib's dropout_ draws its own masks, so training could never match another framework.
        if (layer.p != 0.0) refuse("dlib's dropout_ cannot draw the harness's masks");
        break;
      case Op::scale:
      case Op::gelu:
        refuse("this build's dlib network types have no such layer");
    }
  }
  return out;
}

std::optional<std::string> signature_difference(const std::vector<LayerSignature>& spec,
                                                const std::vector<LayerSignature>& network,
                                                const std::string& type_name) {
  const std::size_t common = std::min(spec.size(), network.size());
  for (std::size_t i = 0; i < common; ++i) {
    if (!(spec[i] == network[i])) {
      return fmt::format("computational layer {}: the spec has {} but dlib's {} type has {}", i,
                         describe(spec[i]), type_name, describe(network[i]));
    }
  }
  if (spec.size() != network.size()) {
    const bool spec_longer = spec.size() > network.size();
    const auto& extra = spec_longer ? spec[common] : network[common];
    return fmt::format(
        "the spec has {} computational layers but dlib's {} type has {}; the first "
        "unmatched is {} in the {}",
        spec.size(), type_name, network.size(), describe(extra),
        spec_longer ? "spec" : "dlib type");
  }
  return std::nullopt;
}

}  // namespace cb::backends::dlib_backend
