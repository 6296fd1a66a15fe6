// What a compile-time dlib network type must agree on with a model spec: the sequence of
// computational layers in forward order, each with its op and the attributes a dlib type fixes
// at compile time (filters, kernel, stride, padding). What dlib takes at run time (bias on or
// off, linear outputs, batch-norm eps and momentum) is configured from the spec instead.
// Framework-free: the spec side is computed here, the dlib side by walking a network
// (dlib_network.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/spec.h"

namespace cb::backends::dlib_backend {

struct LayerSignature {
  model::Op op = model::Op::input;
  int channels = 0;  // conv2d: filters; others: 0
  int kernel = 0;    // conv2d, max_pool, avg_pool
  int stride = 0;    // conv2d, max_pool, avg_pool, subsample
  int padding = 0;   // conv2d, max_pool, avg_pool
  bool operator==(const LayerSignature&) const = default;
};

// "conv2d(16 filters, 3x3, stride 1, padding 1)", "relu", ...
std::string describe(const LayerSignature& layer);

// The spec's layers as a dlib type must reproduce them. Layers dlib does implicitly are left
// out: input, flatten (dlib's fc_ flattens), pad_channels (dlib's add_prev_ zero-pads the
// smaller operand's missing channels at the end, which is pad_channels' definition).
// Throws Unsupported naming the first layer no dlib type can express (gelu, scale, grouped
// convolution, batch_norm without affine, ...).
std::vector<LayerSignature> spec_signature(const model::ModelSpec& spec);

// nullopt when equal; otherwise a sentence naming the first difference, e.g.
// "layer 3: the spec has conv2d(...) but dlib's resnet20 type has conv2d(...)".
std::optional<std::string> signature_difference(const std::vector<LayerSignature>& spec,
                                                const std::vector<LayerSignature>& network,
                                                const std::string& type_name);

}  // namespace cb::backends::dlib_backend
