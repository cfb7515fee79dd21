// Random fills (uniform, normal, Bernoulli) and a small sequential generator, Rng, all drawn from
// Philox4x32-10 (core/philox.h).
//
// Reproducibility: element i of a fill depends only on (seed, stream, i), never on the thread
// count or on how the work is cut up. Large fills run in parallel over fixed chunks of
// internal::kRandomFillChunk elements, so 1, 2 or 16 threads give bit-identical output.
// Element i of a MatrixView is the element at logical position i = r·cols + c (the leading
// dimension plays no part), so a strided view gets the same values as a contiguous matrix of the
// same shape, and the padding between rows is never written.
//
// The words are computed by the vectorized Philox kernels of the active ISA
// (core/random_kernels.h), which give exactly the scalar generator's words: the fills are
// bit-identical on every ISA, too.
//
// Use a different stream for every independent consumer of one seed (e.g. one per layer for the
// initializers, another per layer and step for dropout masks): streams never overlap.
//
// How element i is made from the random words w of (seed, stream) (word j is word j % 4 of the
// Philox block j / 4, see core/philox.h):
//   uniform(a, b)    u = (w[i] >> 8)·2^-24, a 24-bit float in [0, 1 − 2^-24]; a + (b − a)·u is
//                    computed in double and rounded to float; if that rounds up to b, the largest
//                    float below b is returned instead, so b is never returned (unless a == b,
//                    where every element is a).
//   normal(m, s)     Box–Muller on the two words of one pair within a block: with j = i rounded
//                    down to even, u1 = (w[j] + 1)·2^-32 in (0, 1] (so log(u1) is finite) and
//                    u2 = w[j+1]·2^-32, z = sqrt(−2 ln u1)·cos(2π u2) for even i and ·sin(2π u2)
//                    for odd i, in double; the element is m + s·z rounded to float. |z| <= 6.67.
//   bernoulli(p, v)  v (default 1.0f) if w[i]·2^-32 < p, else 0.0f: exactly all zeros for p = 0,
//                    all v for p = 1.
//
// Bad parameters (a > b, s < 0, p outside [0, 1], anything non-finite) throw std::invalid_argument
// naming the function, the argument and its value, e.g.
// "fill_normal: stddev must be finite and >= 0, got -1".
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include <simdnn/core/philox.h>
#include <simdnn/core/tensor.h>

namespace simdnn {

// Uniform on [a, b). Requires finite a <= b.
void fill_uniform(std::span<float> out, float a, float b, std::uint64_t seed, std::uint64_t stream);
void fill_uniform(MatrixView out, float a, float b, std::uint64_t seed, std::uint64_t stream);

// Normal with the given mean and standard deviation. Requires finite mean and finite stddev >= 0.
void fill_normal(std::span<float> out, float mean, float stddev, std::uint64_t seed,
                 std::uint64_t stream);
void fill_normal(MatrixView out, float mean, float stddev, std::uint64_t seed,
                 std::uint64_t stream);

// `value` (default 1.0f) with probability p, else 0.0f: a dropout keep-mask, already scaled by
// 1/(1 − p) when value is that (inverted dropout). Requires p in [0, 1] and a finite value.
void fill_bernoulli(std::span<float> out, float p, std::uint64_t seed, std::uint64_t stream,
                    float value = 1.0f);
void fill_bernoulli(MatrixView out, float p, std::uint64_t seed, std::uint64_t stream,
                    float value = 1.0f);
// The same with out's element i (logical position r·cols + c) made from element first + i of
// (seed, stream): one large fill drawn piece by piece (Dropout on a row slice of a batch draws
// rows from first_row with first = first_row·cols) equals the whole fill, bit for bit.
void fill_bernoulli_at(MatrixView out, std::uint64_t first, float p, std::uint64_t seed,
                       std::uint64_t stream, float value = 1.0f);

// Inverted dropout's forward pass in one sweep. Element i of x (logical position r·cols + c) is
// kept where element first + i of fill_bernoulli_at(·, first, keep_probability, seed, stream) is a
// hit: there keep[i] = 1 and y = x·scale, elsewhere keep[i] = 0 and y = x·0. These are exactly
// the bits of that fill with value = scale followed by y = x ⊙ mask, but the mask is never
// written as floats (a byte per element instead of 4, and one pass instead of three).
// keep must hold at least rows·cols bytes; y must have x's shape and may be x itself. Requires
// keep_probability in [0, 1] and a finite scale.
void dropout_forward(ConstMatrixView x, MatrixView y, std::span<std::uint8_t> keep, std::uint64_t first,
                     float keep_probability, float scale, std::uint64_t seed, std::uint64_t stream);
// y = x ⊙ (keep ? scale : 0), keep as dropout_forward wrote it (any nonzero byte keeps):
// dropout's backward pass, or its forward with a given mask. y may be x itself.
void apply_dropout_mask(ConstMatrixView x, std::span<const std::uint8_t> keep, float scale, MatrixView y);

// A sequential generator for the few draws that are naturally serial (shuffling the sample order
// for mini-batches, picking a validation split). It walks the word sequence of (seed, stream)
// from word `position`: the first next_u32() of Rng(seed, stream) is the word that element 0 of a
// fill with the same (seed, stream) is made from. position() says how many words have been used,
// so Rng(seed, stream, rng.position()) resumes a generator exactly (e.g. from a checkpoint).
// Not thread-safe: give each thread its own stream.
class Rng {
 public:
  explicit Rng(std::uint64_t seed, std::uint64_t stream = 0, std::uint64_t position = 0)
      : seed_(seed), stream_(stream), position_(position) {}

  std::uint64_t seed() const { return seed_; }
  std::uint64_t stream() const { return stream_; }
  // Words drawn so far (counting from the `position` given at construction).
  std::uint64_t position() const { return position_; }

  // The next random word.
  std::uint32_t next_u32();
  // Two words: the first is the low half.
  std::uint64_t next_u64();
  // Uniform on [0, 1) with 24 random bits (one word); the same mapping as fill_uniform(0, 1).
  float uniform();
  // Uniform integer in [0, n), exactly unbiased (Lemire's multiply-and-reject). n <= 2^32 draws
  // 32-bit words, larger n 64-bit ones. Throws std::invalid_argument if n == 0.
  std::uint64_t uniform_int(std::uint64_t n);
  // Standard normal (Box–Muller on two words, the cosine branch of fill_normal's formula).
  double normal();

  // Fisher–Yates: for i = n−1 down to 1, swap items[i] with items[uniform_int(i + 1)]. Every
  // permutation is equally likely, and the result depends only on (seed, stream, position, n).
  template <class T>
  void shuffle(std::span<T> items) {
    for (std::size_t i = items.size(); i > 1; --i) {
      const std::size_t j = static_cast<std::size_t>(uniform_int(i));
      using std::swap;
      swap(items[i - 1], items[j]);
    }
  }
  template <class T>
  void shuffle(std::vector<T>& items) {
    shuffle(std::span<T>(items));
  }

  // 0, 1, ..., n−1 in shuffled order: the sample order of one epoch.
  std::vector<std::size_t> permutation(std::size_t n);

 private:
  std::uint64_t seed_;
  std::uint64_t stream_;
  std::uint64_t position_;
  // Cache of the current block: valid for the words cached_block_·4 .. cached_block_·4 + 3.
  PhiloxCounter cache_{};
  std::uint64_t cached_block_ = 0;
  bool cache_valid_ = false;
};

namespace internal {

// Fills cut their element range into chunks of this many elements (a multiple of 4, so that no
// Philox block is shared by two chunks), one parallel task each.
inline constexpr std::size_t kRandomFillChunk = 16384;

// The 24-bit uniform of fill_uniform: (w >> 8)·2^-24, in [0, 1 − 2^-24].
inline float uniform24(std::uint32_t w) {
  return static_cast<float>(w >> 8) * (1.0f / 16777216.0f);
}

}  // namespace internal
}  // namespace simdnn
