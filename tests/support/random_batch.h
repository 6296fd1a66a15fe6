// A CIFAR-shaped batch of normal random pixels and uniform labels, from a seed (tests make
// their own small data).
#pragma once

#include <cstdint>

#include "core/rng.h"
#include "data/batch.h"

namespace cb::testing {

inline data::Batch random_batch(int n, std::uint64_t seed, int classes = 10) {
  data::Batch b;
  b.n = n;
  b.c = 3;
  b.h = 32;
  b.w = 32;
  Rng rng(seed);
  b.data.resize(static_cast<std::size_t>(b.numel()));
  for (auto& v : b.data) v = static_cast<float>(rng.normal());
  for (int i = 0; i < n; ++i) b.labels.push_back(static_cast<std::int64_t>(rng.below(classes)));
  return b;
}

}  // namespace cb::testing
