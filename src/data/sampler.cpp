#include "data/sampler.h"

#include <fmt/format.h>

#include <numeric>
#include <utility>

#include "core/error.h"
#include "core/rng.h"

namespace cb::data {

std::vector<std::int64_t> shuffled_order(std::int64_t count, std::uint64_t seed,
                                         std::int64_t epoch) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(count));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  Rng rng(seed, {static_cast<std::uint64_t>(epoch)});
  for (std::int64_t i = count - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(i) + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

std::vector<std::int64_t> shard_of(const std::vector<std::int64_t>& order, Shard shard,
                                   ShardRule rule) {
  if (shard.world_size < 1 || shard.rank < 0 || shard.rank >= shard.world_size) {
    throw InputError(fmt::format("distributed shard: rank {} is not in [0, world size {})",
                                 shard.rank, shard.world_size));
  }
  const auto n = static_cast<std::int64_t>(order.size());
  const std::int64_t w = shard.world_size;
  std::int64_t total = n;  // positions of the (extended or truncated) order
  if (rule == ShardRule::pad) total = (n + w - 1) / w * w;
  if (rule == ShardRule::drop) total = n / w * w;
  if (n == 0) total = 0;
  std::vector<std::int64_t> share;
  share.reserve(static_cast<std::size_t>(total / w + 1));
  for (std::int64_t p = shard.rank; p < total; p += w) share.push_back(order[p % n]);
  return share;
}

Sampler::Sampler(std::int64_t count, std::uint64_t seed, bool shuffle, Shard shard,
                 ShardRule rule)
    : count_(count), seed_(seed), shuffle_(shuffle), shard_(shard), rule_(rule) {
  shard_of({}, shard_, rule_);  // validates the shard now rather than at the first epoch
}

std::vector<std::int64_t> Sampler::epoch_indices(std::int64_t epoch) const {
  std::vector<std::int64_t> order;
  if (shuffle_) {
    order = shuffled_order(count_, seed_, epoch);
  } else {
    order.resize(static_cast<std::size_t>(count_));
    std::iota(order.begin(), order.end(), std::int64_t{0});
  }
  if (shard_.world_size == 1) return order;
  return shard_of(order, shard_, rule_);
}

std::int64_t Sampler::samples_per_epoch() const {
  const std::int64_t w = shard_.world_size, r = shard_.rank;
  if (count_ == 0) return 0;
  switch (rule_) {
    case ShardRule::pad: return (count_ + w - 1) / w;
    case ShardRule::drop: return count_ / w;
    case ShardRule::exact: return count_ / w + (r < count_ % w ? 1 : 0);
  }
  return 0;
}

}  // namespace cb::data
