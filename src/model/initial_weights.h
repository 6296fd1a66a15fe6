// Harness-owned initial weights: every backend starts from these exact float32 values, so a
// comparison never depends on a framework's own initializers.
#pragma once

#include <cstdint>
#include <string_view>

#include "model/spec.h"
#include "model/weights.h"

namespace cb::model {

// FNV-1a, 64-bit: a hash of a tensor name that is the same on every machine (std::hash is not).
std::uint64_t stable_hash(std::string_view text);

// One tensor per model/analysis.h parameter_shapes entry, in that order, each drawn from its own
// cb::Rng stream (seed, stable_hash(name)) so that adding a layer leaves the others unchanged:
//   conv2d weight   normal(0, std), std = sqrt(2 / (out_channels · k · k / groups))
//                   (Kaiming normal, mode fan_out, ReLU gain)
//   conv2d bias     uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in/groups · k · k
//   linear weight   uniform(-1/sqrt(in), 1/sqrt(in)), and the same for its bias (PyTorch's)
//   batch_norm      weight 1, bias 0, running_mean 0, running_var 1 (the last two buffers)
// `spec` must have inferred shapes (build_zoo_model and resolve_model return such specs).
Weights initial_weights(const ModelSpec& spec, std::uint64_t seed);

}  // namespace cb::model
