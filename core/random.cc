#include <simdnn/core/random.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <simdnn/core/denormals.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/kernels/dispatch.h>
#include <simdnn/core/parallel.h>
#include <simdnn/core/random_kernels.h>
#include <simdnn/core/threading.h>

namespace simdnn {

namespace internal {

static_assert(kPhiloxKernelM0 == kPhiloxM0 && kPhiloxKernelM1 == kPhiloxM1 &&
              kPhiloxKernelW0 == kPhiloxW0 && kPhiloxKernelW1 == kPhiloxW1);

// The vectorized Philox kernels (core/random_kernels.h, kernels/random.h). They replace a scalar
// batch of 8 blocks computed lane by lane in arrays, which GCC 12 did not vectorize (the 32x32->64
// multiplies need _mm*_mul_epu32): 0.35 Gelem/s for Bernoulli masks on Zen 3, now 1.1 (AVX2).
const RandomKernels& random_kernels(Isa isa) {
  return kernel_table<RandomKernels>("random_kernels", isa,
                                     []<class Arch>() { return make_random_kernels<Arch>(); });
}

}  // namespace internal

namespace {

constexpr double kTwoPow32 = 4294967296.0;
constexpr double kTwoPowMinus32 = 1.0 / kTwoPow32;
constexpr double kTwoPi = 6.283185307179586476925286766559;

// Nine significant digits, enough to tell any two floats apart ("-1", "0.100000001", "nan").
std::string format_value(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", value);
  return buffer;
}

[[noreturn]] void bad_argument(const char* function, const std::string& requirement, double value) {
  throw std::invalid_argument(std::string(function) + ": " + requirement + ", got " +
                              format_value(value));
}

void require_finite(const char* function, const char* argument, float value) {
  if (!std::isfinite(value)) {
    bad_argument(function, std::string(argument) + " must be finite", value);
  }
}

struct BernoulliMaker;

// Random words per call of the words kernel in fill_range (whole blocks).
constexpr std::size_t kWordBuffer = 256;

// Writes out[k] = element (first + k) for k in [0, n), on the calling thread. make(words, values)
// turns the four words of one Philox block into the four elements of that block. The words come
// from the vectorized Philox kernels (core/random_kernels.h), which give exactly philox_block's
// words on every ISA; Bernoulli elements are made by their kernel directly, words never stored.
template <class Make>
void fill_range(const internal::RandomKernels& kernels, float* out, std::uint64_t first,
                std::size_t n, std::uint64_t seed, std::uint64_t stream, const Make& make) {
  if constexpr (std::is_same_v<Make, BernoulliMaker>) {
    kernels.bernoulli(seed, stream, first, make.word_threshold, make.value, out, n);
  } else {
    std::uint32_t words[kWordBuffer];
    std::size_t k = 0;
    while (k < n) {
      // The words of the blocks from the one holding element first + k, up to kWordBuffer.
      const std::uint64_t index = first + k;
      const auto lane = static_cast<std::size_t>(index % 4);
      const std::size_t count = std::min(kWordBuffer, (lane + (n - k) + 3) / 4 * 4);
      kernels.philox_words(seed, stream, index - lane, words, count);
      const std::size_t take = std::min(count - lane, n - k);  // elements written now
      for (std::size_t b = 0; b < count; b += 4) {
        float values[4];
        make(PhiloxCounter{words[b], words[b + 1], words[b + 2], words[b + 3]}, values);
        const std::size_t from = b < lane ? lane - b : 0;
        const std::size_t to = std::min<std::size_t>(4, lane + take - b);
        for (std::size_t j = from; j < to; ++j) out[k + b + j - lane] = values[j];
      }
      k += take;
    }
  }
}

// Calls run(index, count) for runs of logical indices i = r·cols + c that cover [0, rows·cols), in
// parallel over chunks of kRandomFillChunk indices: a chunk is one run when `whole_chunks` (the
// views are contiguous, so a run may cross row ends), else one run per row segment.
template <class Run>
void for_runs(std::size_t rows, std::size_t cols, bool whole_chunks, const Run& run) {
  const std::size_t n = rows * cols;
  const std::size_t chunks = (n + internal::kRandomFillChunk - 1) / internal::kRandomFillChunk;
  internal::parallel_for_tiles(chunks, [&](std::size_t chunk) {
    std::size_t index = chunk * internal::kRandomFillChunk;
    const std::size_t end = std::min(n, index + internal::kRandomFillChunk);
    while (index < end) {
      const std::size_t count = whole_chunks ? end - index : std::min(cols - index % cols, end - index);
      run(index, count);
      index += count;
    }
  });
}

// The address of logical element i = r·cols + c of v.
template <class View>
auto element(const View& v, std::size_t i) {
  return v.data + (i / v.cols) * v.ld + i % v.cols;
}

template <class Make>
void fill_span(const internal::RandomKernels& kernels, std::span<float> out, std::uint64_t seed,
               std::uint64_t stream, const Make& make) {
  for_runs(1, out.size(), true, [&](std::size_t index, std::size_t count) {
    fill_range(kernels, out.data() + index, index, count, seed, stream, make);
  });
}

template <class Make>
void fill_view(const char* function, MatrixView out, std::uint64_t seed, std::uint64_t stream,
               const Make& make, std::uint64_t first = 0) {
  check_view(function, "out", out);
  if (out.rows == 0 || out.cols == 0) return;
  const internal::RandomKernels& kernels = internal::random_kernels(active_isa());  // once per call
  for_runs(out.rows, out.cols, out.ld == out.cols, [&](std::size_t index, std::size_t count) {
    fill_range(kernels, element(out, index), first + index, count, seed, stream, make);
  });
}

struct UniformMaker {
  double a;
  double width;
  float b;
  float below_b;  // returned when a + width·u rounds to b

  UniformMaker(float a_in, float b_in)
      : a(a_in),
        width(static_cast<double>(b_in) - static_cast<double>(a_in)),
        b(b_in),
        below_b(a_in == b_in ? a_in : std::nextafter(b_in, a_in)) {}

  void operator()(const PhiloxCounter& words, float* values) const {
    for (int k = 0; k < 4; ++k) {
      const double u = internal::uniform24(words[k]);
      const auto x = static_cast<float>(a + width * u);
      values[k] = x < b ? x : below_b;
    }
  }
};

struct NormalMaker {
  double mean;
  double stddev;

  void operator()(const PhiloxCounter& words, float* values) const {
    for (int pair = 0; pair < 2; ++pair) {
      const double u1 = (static_cast<double>(words[2 * pair]) + 1.0) * kTwoPowMinus32;  // (0, 1]
      const double u2 = static_cast<double>(words[2 * pair + 1]) * kTwoPowMinus32;      // [0, 1)
      const double radius = stddev * std::sqrt(-2.0 * std::log(u1));
      const double theta = kTwoPi * u2;
      values[2 * pair] = static_cast<float>(mean + radius * std::cos(theta));
      values[2 * pair + 1] = static_cast<float>(mean + radius * std::sin(theta));
    }
  }
};

// Word w gives 1 iff w < p·2^32 (exact in double), i.e. iff w < word_threshold =
// ceil(p·2^32), in [0, 2^32]. fill_range hands it to the Bernoulli kernel.
struct BernoulliMaker {
  std::uint64_t word_threshold;
  float value;  // written for a hit
};

UniformMaker uniform_maker(const char* function, float a, float b) {
  require_finite(function, "a", a);
  require_finite(function, "b", b);
  if (a > b) {
    throw std::invalid_argument(std::string(function) + ": a must be <= b, got a = " +
                                format_value(a) + ", b = " + format_value(b));
  }
  return UniformMaker(a, b);
}

NormalMaker normal_maker(const char* function, float mean, float stddev) {
  require_finite(function, "mean", mean);
  if (!(stddev >= 0.0f) || !std::isfinite(stddev)) {
    bad_argument(function, "stddev must be finite and >= 0", stddev);
  }
  return NormalMaker{mean, stddev};
}

BernoulliMaker bernoulli_maker(const char* function, float p, float value) {
  if (!(p >= 0.0f && p <= 1.0f)) bad_argument(function, "p must be in [0, 1]", p);
  if (!std::isfinite(value)) bad_argument(function, "value must be finite", value);
  return BernoulliMaker{static_cast<std::uint64_t>(std::ceil(static_cast<double>(p) * kTwoPow32)), value};
}

}  // namespace

void fill_uniform(std::span<float> out, float a, float b, std::uint64_t seed,
                  std::uint64_t stream) {
  const auto make = uniform_maker("fill_uniform", a, b);
  fill_span(internal::random_kernels(active_isa()), out, seed, stream, make);
}

void fill_uniform(MatrixView out, float a, float b, std::uint64_t seed, std::uint64_t stream) {
  fill_view("fill_uniform", out, seed, stream, uniform_maker("fill_uniform", a, b));
}

void fill_normal(std::span<float> out, float mean, float stddev, std::uint64_t seed,
                 std::uint64_t stream) {
  const auto make = normal_maker("fill_normal", mean, stddev);
  fill_span(internal::random_kernels(active_isa()), out, seed, stream, make);
}

void fill_normal(MatrixView out, float mean, float stddev, std::uint64_t seed,
                 std::uint64_t stream) {
  fill_view("fill_normal", out, seed, stream, normal_maker("fill_normal", mean, stddev));
}

void fill_bernoulli(std::span<float> out, float p, std::uint64_t seed, std::uint64_t stream,
                    float value) {
  const auto make = bernoulli_maker("fill_bernoulli", p, value);
  fill_span(internal::random_kernels(active_isa()), out, seed, stream, make);
}

void fill_bernoulli(MatrixView out, float p, std::uint64_t seed, std::uint64_t stream,
                    float value) {
  fill_view("fill_bernoulli", out, seed, stream, bernoulli_maker("fill_bernoulli", p, value));
}

void fill_bernoulli_at(MatrixView out, std::uint64_t first, float p, std::uint64_t seed,
                       std::uint64_t stream, float value) {
  fill_view("fill_bernoulli_at", out, seed, stream, bernoulli_maker("fill_bernoulli_at", p, value), first);
}

namespace {

void require_keep_bytes(const char* function, std::size_t have, ConstMatrixView x) {
  if (have < x.rows * x.cols) {
    throw std::invalid_argument(std::string(function) + ": keep must hold at least " + std::to_string(x.rows * x.cols) +
                                " bytes (x is " + shape_string(x.rows, x.cols) + "), got " + std::to_string(have));
  }
}

void check_dropout_views(const char* function, ConstMatrixView x, MatrixView y, std::size_t keep_bytes, float scale) {
  check_view(function, "x", x);
  check_view(function, "y", y);
  if (y.rows != x.rows || y.cols != x.cols) {
    throw std::invalid_argument(std::string(function) + ": y must have x's shape " + shape_string(x.rows, x.cols) +
                                ", got " + shape_string(y.rows, y.cols));
  }
  require_keep_bytes(function, keep_bytes, x);
  require_finite(function, "scale", scale);
}

}  // namespace

void dropout_forward(ConstMatrixView x, MatrixView y, std::span<std::uint8_t> keep, std::uint64_t first,
                     float keep_probability, float scale, std::uint64_t seed, std::uint64_t stream) {
  constexpr const char* function = "dropout_forward";
  check_dropout_views(function, x, y, keep.size(), scale);
  if (!(keep_probability >= 0.0f && keep_probability <= 1.0f)) {
    bad_argument(function, "keep_probability must be in [0, 1]", keep_probability);
  }
  const std::uint64_t threshold = bernoulli_maker(function, keep_probability, scale).word_threshold;
  if (x.rows == 0 || x.cols == 0) return;
  const internal::RandomKernels& kernels = internal::random_kernels(active_isa());
  const internal::DenormalScope denormals;
  for_runs(x.rows, x.cols, x.ld == x.cols && y.ld == y.cols, [&](std::size_t index, std::size_t count) {
    kernels.dropout(seed, stream, first + index, threshold, scale, element(x, index), element(y, index),
                    keep.data() + index, count);
  });
}

void apply_dropout_mask(ConstMatrixView x, std::span<const std::uint8_t> keep, float scale, MatrixView y) {
  constexpr const char* function = "apply_dropout_mask";
  check_dropout_views(function, x, y, keep.size(), scale);
  if (x.rows == 0 || x.cols == 0) return;
  const internal::RandomKernels& kernels = internal::random_kernels(active_isa());
  const internal::DenormalScope denormals;
  for_runs(x.rows, x.cols, x.ld == x.cols && y.ld == y.cols, [&](std::size_t index, std::size_t count) {
    kernels.apply_keep(element(x, index), keep.data() + index, scale, element(y, index), count);
  });
}

std::uint32_t Rng::next_u32() {
  const std::uint64_t block = position_ / 4;
  if (!cache_valid_ || cached_block_ != block) {
    cache_ = philox_block(seed_, stream_, block);
    cached_block_ = block;
    cache_valid_ = true;
  }
  const std::uint32_t word = cache_[position_ % 4];
  ++position_;
  return word;
}

std::uint64_t Rng::next_u64() {
  const std::uint64_t low = next_u32();
  const std::uint64_t high = next_u32();
  return low | (high << 32);
}

float Rng::uniform() { return internal::uniform24(next_u32()); }

std::uint64_t Rng::uniform_int(std::uint64_t n) {
  if (n == 0) bad_argument("Rng::uniform_int", "n must be >= 1", 0.0);
  constexpr std::uint64_t kWords = std::uint64_t{1} << 32;
  if (n == kWords) return next_u32();
  if (n < kWords) {
    // Lemire, "Fast random integer generation in an interval" (2019): the high half of x·n is
    // uniform on [0, n) once the low halves below 2^32 mod n are rejected.
    const auto range = static_cast<std::uint32_t>(n);
    std::uint64_t product = std::uint64_t{next_u32()} * range;
    if (static_cast<std::uint32_t>(product) < range) {
      const std::uint32_t threshold = static_cast<std::uint32_t>(-range) % range;
      while (static_cast<std::uint32_t>(product) < threshold) {
        product = std::uint64_t{next_u32()} * range;
      }
    }
    return product >> 32;
  }
  __extension__ using Wide = unsigned __int128;
  Wide product = Wide{next_u64()} * n;
  if (static_cast<std::uint64_t>(product) < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (static_cast<std::uint64_t>(product) < threshold) product = Wide{next_u64()} * n;
  }
  return static_cast<std::uint64_t>(product >> 64);
}

double Rng::normal() {
  const double u1 = (static_cast<double>(next_u32()) + 1.0) * kTwoPowMinus32;
  const double u2 = static_cast<double>(next_u32()) * kTwoPowMinus32;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

std::vector<std::size_t> Rng::permutation(std::size_t n) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  shuffle(order);
  return order;
}

}  // namespace simdnn
