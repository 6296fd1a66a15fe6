// The order in which one epoch visits a split, and this rank's share of it. The order is a
// Fisher-Yates shuffle driven by Rng(seed, {epoch}) alone, so every machine, every backend and
// every worker count sees the same order for the same seed.
#pragma once

#include <cstdint>
#include <vector>

#include "data/pipeline_config.h"

namespace cb::data {

// One process of a distributed run: rank in [0, world_size).
struct Shard {
  int rank = 0;
  int world_size = 1;
};

// 0 … count−1 shuffled: for i = count−1 down to 1, swap position i with Rng.below(i + 1).
std::vector<std::int64_t> shuffled_order(std::int64_t count, std::uint64_t seed,
                                         std::int64_t epoch);

// Rank r takes positions r, r + w, r + 2w, … of `order` (PyTorch's DistributedSampler
// convention). When the size does not divide by w:
//   exact  every position once; shares differ in size by at most one (evaluation);
//   pad    the order is extended by its own first positions (cyclically) to a multiple of w, so
//          every share has ⌈n / w⌉ samples and at most w − 1 samples are seen twice;
//   drop   the last n mod w positions are left out this epoch, so every share has ⌊n / w⌋.
// Throws InputError when the shard is not a valid rank of a world.
std::vector<std::int64_t> shard_of(const std::vector<std::int64_t>& order, Shard shard,
                                   ShardRule rule);

// The samples this rank visits in each epoch of a split.
class Sampler {
 public:
  // shuffle false: 0 … count−1 in order every epoch (evaluation).
  Sampler(std::int64_t count, std::uint64_t seed, bool shuffle, Shard shard = {},
          ShardRule rule = ShardRule::exact);

  std::vector<std::int64_t> epoch_indices(std::int64_t epoch) const;
  // Samples per epoch on this rank (the same every epoch).
  std::int64_t samples_per_epoch() const;

 private:
  std::int64_t count_;
  std::uint64_t seed_;
  bool shuffle_;
  Shard shard_;
  ShardRule rule_;
};

}  // namespace cb::data
