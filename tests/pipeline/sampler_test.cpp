// Epoch order and sharding.
#include "data/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "core/error.h"
#include "core/rng.h"

namespace cb::data {
namespace {

std::vector<std::int64_t> sorted(std::vector<std::int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<std::int64_t> iota(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), std::int64_t{0});
  return v;
}

TEST(Sampler, AnEpochVisitsEverySampleExactlyOnce) {
  const Sampler sampler(1000, 5, /*shuffle=*/true);
  for (std::int64_t epoch = 0; epoch < 3; ++epoch) {
    EXPECT_EQ(sorted(sampler.epoch_indices(epoch)), iota(1000)) << epoch;
  }
}

TEST(Sampler, ShuffleDependsOnSeedAndEpochOnly) {
  EXPECT_EQ(shuffled_order(500, 9, 2), shuffled_order(500, 9, 2));
  EXPECT_NE(shuffled_order(500, 9, 2), shuffled_order(500, 9, 3));
  EXPECT_NE(shuffled_order(500, 9, 2), shuffled_order(500, 10, 2));
  EXPECT_NE(shuffled_order(500, 9, 2), iota(500));
}

TEST(Sampler, ShuffleIsFisherYatesOverRngOfSeedAndEpoch) {
  // The documented algorithm, written out: any machine must reproduce this order.
  std::vector<std::int64_t> expected = iota(50);
  Rng rng(123, {4});
  for (std::int64_t i = 49; i > 0; --i) {
    std::swap(expected[i], expected[static_cast<std::size_t>(rng.below(i + 1))]);
  }
  EXPECT_EQ(shuffled_order(50, 123, 4), expected);
}

TEST(Sampler, WithoutShuffleTheOrderIsTheIndexOrder) {
  const Sampler sampler(10, 5, /*shuffle=*/false);
  EXPECT_EQ(sampler.epoch_indices(7), iota(10));
}

TEST(Sharding, ExactSharesAreDisjointAndCoverTheEpoch) {
  for (const int world : {1, 2, 3, 4, 7}) {
    std::vector<std::int64_t> all;
    for (int rank = 0; rank < world; ++rank) {
      const Sampler s(103, 1, true, {rank, world}, ShardRule::exact);
      const auto share = s.epoch_indices(2);
      EXPECT_EQ(static_cast<std::int64_t>(share.size()), s.samples_per_epoch());
      all.insert(all.end(), share.begin(), share.end());
    }
    EXPECT_EQ(sorted(all), iota(103)) << "world " << world;
  }
}

TEST(Sharding, PadGivesEveryRankTheSameCountAndCoversTheEpoch) {
  std::set<std::int64_t> seen;
  for (int rank = 0; rank < 4; ++rank) {
    const Sampler s(103, 1, true, {rank, 4}, ShardRule::pad);
    const auto share = s.epoch_indices(0);
    EXPECT_EQ(share.size(), 26u);  // ⌈103 / 4⌉
    EXPECT_EQ(s.samples_per_epoch(), 26);
    seen.insert(share.begin(), share.end());
  }
  EXPECT_EQ(seen.size(), 103u);
}

TEST(Sharding, DropGivesEveryRankTheSameCountAndNoRepeats) {
  std::vector<std::int64_t> all;
  for (int rank = 0; rank < 4; ++rank) {
    const Sampler s(103, 1, true, {rank, 4}, ShardRule::drop);
    const auto share = s.epoch_indices(0);
    EXPECT_EQ(share.size(), 25u);  // ⌊103 / 4⌋
    all.insert(all.end(), share.begin(), share.end());
  }
  const auto unique = std::set<std::int64_t>(all.begin(), all.end());
  EXPECT_EQ(unique.size(), all.size());
  EXPECT_EQ(all.size(), 100u);
}

TEST(Sharding, RankTakesEveryWorldSizethPositionOfTheOrder) {
  const std::vector<std::int64_t> order = {9, 8, 7, 6, 5, 4, 3};
  EXPECT_EQ(shard_of(order, {1, 3}, ShardRule::exact), (std::vector<std::int64_t>{8, 5}));
  EXPECT_EQ(shard_of(order, {1, 3}, ShardRule::pad), (std::vector<std::int64_t>{8, 5, 9}));
  EXPECT_EQ(shard_of(order, {2, 3}, ShardRule::drop), (std::vector<std::int64_t>{7, 4}));
}

TEST(Sharding, RankOutsideTheWorldIsRefused) {
  EXPECT_THROW(Sampler(10, 1, true, {2, 2}, ShardRule::pad), InputError);
  EXPECT_THROW(Sampler(10, 1, true, {0, 0}, ShardRule::pad), InputError);
}

}  // namespace
}  // namespace cb::data
