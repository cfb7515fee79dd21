// Data augmentation for images stored one per row (row = a height x width image, row-major), and
// the Gamma and Beta samplers mixup needs.
//
// Every function is deterministic for its (seed, stream): call it with a new stream (or seed) per
// batch or epoch to get fresh randomness, the same one to repeat it exactly. Draws depend only on
// (seed, stream) and the shapes, never on the thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <simdnn/core/random.h>
#include <simdnn/core/tensor.h>

namespace simdnn {

// Gamma(shape, 1) by Marsaglia and Tsang (2000), "A simple method for generating gamma
// variables": for shape >= 1, d = shape − 1/3, c = 1/sqrt(9d); draw z ~ N(0, 1) (Rng::normal) and
// u ~ U(0, 1] until v = (1 + cz)³ > 0 and ln u < z²/2 + d − dv + d·ln v; return d·v. For
// shape < 1, Gamma(shape + 1) · u^(1/shape). Throws std::invalid_argument unless shape is finite
// and > 0.
double sample_gamma(Rng& rng, double shape);

// Beta(a, b) = X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b), computed from the logarithms when a
// shape is below 1 so that tiny shapes (where both draws underflow) still give 0 or 1, not NaN.
// Throws std::invalid_argument unless a and b are finite and > 0.
double sample_beta(Rng& rng, double a, double b);

struct ClipRange {
  float low;
  float high;
};

// x += N(0, stddev²) elementwise (fill_normal on (seed, stream)), then, if `clip` is given, each
// value clamped to [clip->low, clip->high]. Throws std::invalid_argument for a negative or
// non-finite stddev or low > high.
void add_gaussian_noise(MatrixView images, float stddev, std::uint64_t seed, std::uint64_t stream,
                        std::optional<ClipRange> clip = std::nullopt);

// Moves each image by (dy, dx), each uniform in [−max_shift, max_shift] and drawn per image (dy
// first) from Rng(seed, stream); pixels moved in from outside are 0. Pixel (r, c) of the result is
// pixel (r − dy, c − dx) of the original. Throws ShapeError unless images.cols ==
// height · width.
void random_shift(MatrixView images, std::size_t height, std::size_t width, std::size_t max_shift,
                  std::uint64_t seed, std::uint64_t stream);

struct MixupBatch {
  Tensor x;
  Tensor y;
  float lambda = 1.0f;
  std::vector<std::size_t> partner;  // row i was mixed with row partner[i] of the input
};

// mixup (Zhang et al., "mixup: Beyond Empirical Risk Minimization", 2018), as in the paper's code:
// one λ ~ Beta(alpha, alpha) for the batch, partner = a random permutation of the rows, and
//   x_out[i] = λ·x[i] + (1 − λ)·x[partner[i]],  y_out[i] = λ·y[i] + (1 − λ)·y[partner[i]],
// so rows of one-hot y stay distributions (sum 1). Draws come from Rng(seed, stream): λ first,
// then the permutation. Throws ShapeError unless x and y have the same number of rows,
// std::invalid_argument unless alpha is finite and > 0.
MixupBatch mixup(ConstMatrixView x, ConstMatrixView y, float alpha, std::uint64_t seed,
                 std::uint64_t stream);

// The same into caller-owned outputs of x's and y's shapes (which must not overlap the inputs);
// returns λ and, if `partner` is not null, fills it.
float mixup_into(ConstMatrixView x, ConstMatrixView y, MatrixView x_out, MatrixView y_out,
                 float alpha, std::uint64_t seed, std::uint64_t stream,
                 std::vector<std::size_t>* partner = nullptr);

}  // namespace simdnn
