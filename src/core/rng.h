// Seeded random numbers that are identical on every machine, compiler and standard library:
// xoshiro256** seeded through SplitMix64, with our own (not <random>'s) conversions to
// floats, bounded integers and normals, since <random>'s distributions are implementation-defined.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace cb {

// Mixes a 64-bit value (SplitMix64's finalizer); used to derive independent streams.
std::uint64_t mix64(std::uint64_t x);

// Derives one 64-bit seed from a base seed and any number of stream keys (epoch, sample, ...).
std::uint64_t derive_seed(std::uint64_t seed, std::initializer_list<std::uint64_t> keys);

class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  Rng(std::uint64_t seed, std::initializer_list<std::uint64_t> keys)
      : Rng(derive_seed(seed, keys)) {}

  std::uint64_t next_u64();
  // Uniform in [0, 1) with 24 random bits (float) or 53 (double).
  float uniform_float();
  double uniform_double();
  // Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform_double(); }
  // Uniform integer in [0, n), unbiased (Lemire's method); n > 0.
  std::uint64_t below(std::uint64_t n);
  // Standard normal (Box-Muller, both values used).
  double normal();
  bool coin() { return (next_u64() >> 63) != 0; }

 private:
  std::uint64_t s_[4];
  double spare_normal_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace cb
