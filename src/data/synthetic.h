// Generated data for tests and throughput-only runs: each class draws oriented stripes of its own
// angle, frequency and colour, with per-image phase, contrast and noise, so a model can learn it.
#pragma once

#include <cstdint>

#include "data/dataset.h"

namespace cb::data {

struct SyntheticOptions {
  std::uint64_t seed = 0;
  std::int64_t train_count = 50000;
  std::int64_t test_count = 10000;
  int classes = 10;
  int height = 32;
  int width = 32;
};

// Dataset::synthetic is true and Dataset::name is "synthetic", so every output can say so.
// The same options give the same bytes on every machine.
Dataset make_synthetic(const SyntheticOptions& options);

}  // namespace cb::data
