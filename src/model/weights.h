// Named float32 tensors: initial weights, checkpoints and optimizer state, in the layouts that
// model/spec.h defines. The file format is documented in docs/models.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cb::model {

struct Tensor {
  std::vector<std::int64_t> shape;
  std::vector<float> values;  // row-major, product(shape) values

  std::int64_t numel() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

struct NamedTensor {
  std::string name;        // "<layer>.weight", "<layer>.running_mean", ...
  bool trainable = true;   // false for buffers (batch-norm running statistics)
  Tensor tensor;
};

// An ordered set of named tensors (order = the spec's layer order).
struct Weights {
  std::vector<NamedTensor> tensors;

  const NamedTensor* find(const std::string& name) const {
    for (const auto& t : tensors) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }
  NamedTensor* find(const std::string& name) {
    for (auto& t : tensors) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }
  std::int64_t trainable_count() const {
    std::int64_t n = 0;
    for (const auto& t : tensors) {
      if (t.trainable) n += t.tensor.numel();
    }
    return n;
  }
};

}  // namespace cb::model
