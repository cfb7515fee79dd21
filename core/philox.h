// Philox4x32-10, the counter-based random number generator of Salmon, Moraes, Dror and Shaw,
// "Parallel random numbers: as easy as 1, 2, 3" (SC'11), bit-compatible with Random123's
// philox4x32 with 10 rounds (checked against its published kat_vectors in tests/random_test.cc).
//
// A counter-based generator is a keyed bijection: philox4x32_10(counter, key) returns four
// random 32-bit words, and any counter can be evaluated directly, with no state to carry from one
// draw to the next. That is what makes simdnn's random fills independent of the thread count.
//
// simdnn's layout (used by every fill in core/random.h and by Rng):
//   key     = (seed low 32 bits, seed high 32 bits)
//   counter = (block low 32 bits, block high 32 bits, stream low 32 bits, stream high 32 bits)
// Random word number w of (seed, stream) is word w % 4 of the block w / 4. So the word sequence of
// a (seed, stream) pair has 2^66 words, and the 2^64 streams of a seed never overlap.
#pragma once

#include <array>
#include <cstdint>

namespace simdnn {

using PhiloxCounter = std::array<std::uint32_t, 4>;
using PhiloxKey = std::array<std::uint32_t, 2>;

namespace internal {

inline constexpr std::uint32_t kPhiloxM0 = 0xD2511F53u;  // multipliers (Salmon et al., table 2)
inline constexpr std::uint32_t kPhiloxM1 = 0xCD9E8D57u;
inline constexpr std::uint32_t kPhiloxW0 = 0x9E3779B9u;  // key schedule: golden ratio
inline constexpr std::uint32_t kPhiloxW1 = 0xBB67AE85u;  // key schedule: sqrt(3) - 1

constexpr PhiloxCounter philox_round(const PhiloxCounter& c, const PhiloxKey& k) {
  const std::uint64_t p0 = std::uint64_t{kPhiloxM0} * c[0];
  const std::uint64_t p1 = std::uint64_t{kPhiloxM1} * c[2];
  const auto hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
  const auto hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
  return {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
}

}  // namespace internal

// The Philox4x32 bijection with 10 rounds: four random words for (counter, key).
constexpr PhiloxCounter philox4x32_10(PhiloxCounter counter, PhiloxKey key) {
  for (int round = 0; round < 10; ++round) {
    if (round != 0) {
      key[0] += internal::kPhiloxW0;
      key[1] += internal::kPhiloxW1;
    }
    counter = internal::philox_round(counter, key);
  }
  return counter;
}

// simdnn's key for a 64-bit seed (see the layout above).
constexpr PhiloxKey philox_key(std::uint64_t seed) {
  return {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
}

// simdnn's counter for block `block` of stream `stream` (see the layout above).
constexpr PhiloxCounter philox_counter(std::uint64_t block, std::uint64_t stream) {
  return {static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32),
          static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)};
}

// The four random words of block `block` of (seed, stream): words 4·block .. 4·block + 3.
constexpr PhiloxCounter philox_block(std::uint64_t seed, std::uint64_t stream,
                                     std::uint64_t block) {
  return philox4x32_10(philox_counter(block, stream), philox_key(seed));
}

}  // namespace simdnn
