// Pieces every training-step benchmark program shares: its random batches and its main().
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <vector>

#include "backends/backend.h"
#include "core/error.h"
#include "core/rng.h"
#include "model/spec.h"

namespace cb::bench {

// A few distinct random batches of the spec's input shape (normal pixels, labels in [0, 10)),
// reused in turn: the data pipeline is not what these programs measure.
inline std::vector<data::Batch> random_batches(const model::ModelSpec& spec, int batch_size,
                                               int count = 4) {
  std::vector<data::Batch> batches(static_cast<std::size_t>(count));
  Rng rng(7);
  for (auto& b : batches) {
    b.n = batch_size;
    b.c = spec.input.c;
    b.h = spec.input.h;
    b.w = spec.input.w;
    b.data.resize(static_cast<std::size_t>(b.numel()));
    for (auto& v : b.data) v = static_cast<float>(rng.normal());
    for (int i = 0; i < batch_size; ++i) b.labels.push_back(static_cast<std::int64_t>(rng.below(10)));
  }
  return batches;
}

// Runs `run`; a cb::Error becomes its message on stderr and its exit status (2 for bad input).
inline int run_main(int (*run)(int, char**), int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return static_cast<int>(e.status());
  }
}

}  // namespace cb::bench
