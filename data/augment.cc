#include <simdnn/data/augment.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include <simdnn/core/error.h>

namespace simdnn {
namespace {

// Uniform on (0, 1], so that its logarithm is finite.
double uniform_open0(Rng& rng) { return (static_cast<double>(rng.next_u32()) + 1.0) * 0x1p-32; }

void check_shape(const char* fn, const char* argument, double shape) {
  if (!(std::isfinite(shape) && shape > 0)) {
    throw std::invalid_argument(std::string(fn) + ": " + argument +
                                " must be finite and > 0, got " + std::to_string(shape));
  }
}

// Marsaglia–Tsang for shape >= 1.
double gamma_at_least_one(Rng& rng, double shape) {
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    const double z = rng.normal();
    const double t = 1.0 + c * z;
    if (t <= 0) continue;
    const double v = t * t * t;
    const double u = uniform_open0(rng);
    if (std::log(u) < 0.5 * z * z + d - d * v + d * std::log(v)) return d * v;
  }
}

// ln of a Gamma(shape) draw; finite even where the draw itself would underflow (tiny shapes).
double log_gamma_draw(Rng& rng, double shape) {
  if (shape >= 1) return std::log(gamma_at_least_one(rng, shape));
  const double g = gamma_at_least_one(rng, shape + 1.0);
  return std::log(g) + std::log(uniform_open0(rng)) / shape;
}

}  // namespace

double sample_gamma(Rng& rng, double shape) {
  check_shape("sample_gamma", "shape", shape);
  if (shape >= 1) return gamma_at_least_one(rng, shape);
  const double g = gamma_at_least_one(rng, shape + 1.0);
  return g * std::pow(uniform_open0(rng), 1.0 / shape);
}

double sample_beta(Rng& rng, double a, double b) {
  check_shape("sample_beta", "a", a);
  check_shape("sample_beta", "b", b);
  if (a >= 1 && b >= 1) {
    const double x = gamma_at_least_one(rng, a);
    const double y = gamma_at_least_one(rng, b);
    return x / (x + y);
  }
  const double lx = log_gamma_draw(rng, a);
  const double ly = log_gamma_draw(rng, b);
  // x / (x + y) = 1 / (1 + e^(ly − lx)).
  return 1.0 / (1.0 + std::exp(ly - lx));
}

void add_gaussian_noise(MatrixView images, float stddev, std::uint64_t seed, std::uint64_t stream,
                        std::optional<ClipRange> clip) {
  check_view("add_gaussian_noise", "images", images);
  if (!(std::isfinite(stddev) && stddev >= 0)) {
    throw std::invalid_argument("add_gaussian_noise: stddev must be finite and >= 0, got " +
                                std::to_string(stddev));
  }
  if (clip && !(clip->low <= clip->high)) {
    throw std::invalid_argument("add_gaussian_noise: clip range [" + std::to_string(clip->low) +
                                ", " + std::to_string(clip->high) + "] has low > high");
  }
  Tensor noise(images.rows, images.cols);
  fill_normal(noise.view(), 0.0f, stddev, seed, stream);
  for (std::size_t r = 0; r < images.rows; ++r) {
    float* row = images.row(r);
    const float* n = noise.data() + r * images.cols;
    for (std::size_t c = 0; c < images.cols; ++c) {
      float v = row[c] + n[c];
      if (clip) v = std::clamp(v, clip->low, clip->high);
      row[c] = v;
    }
  }
}

void random_shift(MatrixView images, std::size_t height, std::size_t width, std::size_t max_shift,
                  std::uint64_t seed, std::uint64_t stream) {
  check_view("random_shift", "images", images);
  if (height * width != images.cols) {
    throw ShapeError("random_shift: images are " + shape_string(images.rows, images.cols) +
                     " but height x width = " + shape_string(height, width) + " = " +
                     std::to_string(height * width) + " pixels per row");
  }
  Rng rng(seed, stream);
  std::vector<float> copy(images.cols);
  const auto span = static_cast<std::uint64_t>(2 * max_shift + 1);
  const auto k = static_cast<std::ptrdiff_t>(max_shift);
  const auto h = static_cast<std::ptrdiff_t>(height);
  const auto w = static_cast<std::ptrdiff_t>(width);
  for (std::size_t i = 0; i < images.rows; ++i) {
    const auto dy = static_cast<std::ptrdiff_t>(rng.uniform_int(span)) - k;
    const auto dx = static_cast<std::ptrdiff_t>(rng.uniform_int(span)) - k;
    if (dy == 0 && dx == 0) continue;
    float* img = images.row(i);
    std::copy_n(img, images.cols, copy.begin());
    for (std::ptrdiff_t r = 0; r < h; ++r) {
      const std::ptrdiff_t sr = r - dy;
      for (std::ptrdiff_t c = 0; c < w; ++c) {
        const std::ptrdiff_t sc = c - dx;
        img[r * w + c] = (sr >= 0 && sr < h && sc >= 0 && sc < w) ? copy[sr * w + sc] : 0.0f;
      }
    }
  }
}

float mixup_into(ConstMatrixView x, ConstMatrixView y, MatrixView x_out, MatrixView y_out,
                 float alpha, std::uint64_t seed, std::uint64_t stream,
                 std::vector<std::size_t>* partner) {
  check_view("mixup", "x", x);
  check_view("mixup", "y", y);
  check_view("mixup", "x_out", x_out);
  check_view("mixup", "y_out", y_out);
  if (x.rows != y.rows) {
    throw ShapeError("mixup: x is " + shape_string(x.rows, x.cols) + " but y is " +
                     shape_string(y.rows, y.cols) + " (row counts must match)");
  }
  if (x_out.rows != x.rows || x_out.cols != x.cols || y_out.rows != y.rows ||
      y_out.cols != y.cols) {
    throw ShapeError("mixup: outputs are " + shape_string(x_out.rows, x_out.cols) + " and " +
                     shape_string(y_out.rows, y_out.cols) + " but the inputs are " +
                     shape_string(x.rows, x.cols) + " and " + shape_string(y.rows, y.cols));
  }
  check_shape("mixup", "alpha", alpha);
  Rng rng(seed, stream);
  const auto lambda = static_cast<float>(sample_beta(rng, alpha, alpha));
  const std::vector<std::size_t> perm = rng.permutation(x.rows);
  const float mu = 1.0f - lambda;
  for (std::size_t i = 0; i < x.rows; ++i) {
    const std::size_t j = perm[i];
    for (std::size_t c = 0; c < x.cols; ++c) x_out(i, c) = lambda * x(i, c) + mu * x(j, c);
    for (std::size_t c = 0; c < y.cols; ++c) y_out(i, c) = lambda * y(i, c) + mu * y(j, c);
  }
  if (partner != nullptr) *partner = perm;
  return lambda;
}

MixupBatch mixup(ConstMatrixView x, ConstMatrixView y, float alpha, std::uint64_t seed,
                 std::uint64_t stream) {
  MixupBatch out;
  out.x = Tensor(x.rows, x.cols);
  out.y = Tensor(y.rows, y.cols);
  out.lambda = mixup_into(x, y, out.x.view(), out.y.view(), alpha, seed, stream, &out.partner);
  return out;
}

}  // namespace simdnn
