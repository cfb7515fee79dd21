#include <simdnn/core/initializers.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <simdnn/core/random.h>
#include <simdnn/core/parallel.h>
#include <simdnn/core/threading.h>

namespace simdnn {
namespace {

std::string format_value(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", value);
  return buffer;
}

// "initialize: <kind> <what>, got <value>".
[[noreturn]] void bad_parameter(Init kind, const char* requirement, double value) {
  throw std::invalid_argument(std::string("initialize: ") + init_name(kind) + " " + requirement +
                              ", got " + format_value(value));
}

void validate(const InitSpec& spec) {
  switch (spec.kind) {
    case Init::zeros:
      return;
    case Init::constant:
      if (!std::isfinite(spec.value)) bad_parameter(spec.kind, "value must be finite", spec.value);
      return;
    case Init::normal:
      if (!std::isfinite(spec.stddev) || !(spec.stddev >= 0.0f)) {
        bad_parameter(spec.kind, "stddev must be finite and >= 0", spec.stddev);
      }
      return;
    case Init::uniform:
      if (!std::isfinite(spec.low)) bad_parameter(spec.kind, "low must be finite", spec.low);
      if (!std::isfinite(spec.high)) bad_parameter(spec.kind, "high must be finite", spec.high);
      if (spec.low > spec.high) {
        throw std::invalid_argument("initialize: uniform low must be <= high, got low = " +
                                    format_value(spec.low) + ", high = " + format_value(spec.high));
      }
      return;
    case Init::xavier_uniform:
    case Init::xavier_normal:
    case Init::he_normal:
    case Init::he_uniform:
    case Init::lecun_normal:
    case Init::orthogonal:
      if (!std::isfinite(spec.gain) || !(spec.gain >= 0.0f)) {
        bad_parameter(spec.kind, "gain must be finite and >= 0", spec.gain);
      }
      return;
  }
  throw std::invalid_argument("initialize: unknown initializer kind " +
                              std::to_string(static_cast<int>(spec.kind)));
}

void fill_constant(MatrixView w, float value) {
  for (std::size_t r = 0; r < w.rows; ++r) std::fill_n(w.row(r), w.cols, value);
}

// Columns of a Householder update handled by one parallel task. Fixed, so that the tiling never
// depends on the thread count (each column's arithmetic is the same in any tiling anyway).
constexpr std::size_t kColumnTile = 16;

// Applies the reflector H = I − beta·v·vᵀ, v = a[k..m) with implicit zeros above row k, to
// columns [first, n) of the column-major m x n matrix c (rows k..m-1 are the only ones changed).
void apply_reflector(const double* v, double beta, std::size_t k, std::size_t m, double* c,
                     std::size_t first, std::size_t n) {
  if (first >= n || beta == 0.0) return;
  const std::size_t tiles = (n - first + kColumnTile - 1) / kColumnTile;
  internal::parallel_for_tiles(tiles, [&](std::size_t tile) {
    const std::size_t begin = first + tile * kColumnTile;
    const std::size_t end = std::min(n, begin + kColumnTile);
    for (std::size_t j = begin; j < end; ++j) {
      double* col = c + j * m;
      double dot = 0.0;
      for (std::size_t i = k; i < m; ++i) dot += v[i] * col[i];
      const double scale = beta * dot;
      for (std::size_t i = k; i < m; ++i) col[i] -= scale * v[i];
    }
  });
}

// Q (m x n, m >= n, column-major) with orthonormal columns from the QR of an m x n standard normal
// matrix, sign-corrected so that diag(R) > 0.
std::vector<double> random_orthonormal_columns(std::size_t m, std::size_t n, std::uint64_t seed,
                                               std::uint64_t stream) {
  std::vector<float> gaussian(m * n);
  fill_normal(std::span<float>(gaussian), 0.0f, 1.0f, seed, stream);
  std::vector<double> a(gaussian.begin(), gaussian.end());  // column j is a[j·m .. j·m + m)

  // Householder QR: column k of `a` ends up holding the reflector vector v_k (rows k..m-1), with
  // H_k = I − beta_k·v_k·v_kᵀ; r_diag[k] is R's diagonal element.
  std::vector<double> beta(n, 0.0);
  std::vector<double> r_diag(n, 0.0);
  for (std::size_t k = 0; k < n; ++k) {
    double* x = a.data() + k * m;
    double norm2 = 0.0;
    for (std::size_t i = k; i < m; ++i) norm2 += x[i] * x[i];
    const double alpha = std::sqrt(norm2);
    if (alpha == 0.0) continue;  // probability zero; H_k = I, R_kk = 0
    // x − s·e_k with s = −sign(x_k)·alpha, so that v_k = x_k − s has no cancellation.
    const double s = x[k] >= 0.0 ? -alpha : alpha;
    beta[k] = 1.0 / (alpha * (alpha + std::abs(x[k])));  // 2 / vᵀv
    x[k] -= s;
    r_diag[k] = s;
    apply_reflector(x, beta[k], k, m, a.data(), k + 1, n);
  }

  // Q = H_0·H_1·…·H_{n−1}·[I_n; 0], accumulated backwards: H_k leaves columns j < k alone.
  std::vector<double> q(m * n, 0.0);
  for (std::size_t j = 0; j < n; ++j) q[j * m + j] = 1.0;
  for (std::size_t k = n; k-- > 0;) {
    apply_reflector(a.data() + k * m, beta[k], k, m, q.data(), k, n);
  }
  // Q·diag(sign(R)) is Haar-distributed; R_kk = 0 counts as positive.
  for (std::size_t j = 0; j < n; ++j) {
    if (r_diag[j] < 0.0) {
      for (std::size_t i = 0; i < m; ++i) q[j * m + i] = -q[j * m + i];
    }
  }
  return q;
}

void fill_orthogonal(MatrixView w, double gain, std::uint64_t seed, std::uint64_t stream) {
  const bool tall = w.rows >= w.cols;
  const std::size_t m = tall ? w.rows : w.cols;
  const std::size_t n = tall ? w.cols : w.rows;
  const std::vector<double> q = random_orthonormal_columns(m, n, seed, stream);
  for (std::size_t r = 0; r < w.rows; ++r) {
    float* out = w.row(r);
    for (std::size_t c = 0; c < w.cols; ++c) {
      // tall: W = Q, W(r, c) = Q(r, c); wide: W = Qᵀ, W(r, c) = Q(c, r).
      const double value = tall ? q[c * m + r] : q[r * m + c];
      out[c] = static_cast<float>(gain * value);
    }
  }
}

}  // namespace

void initialize(MatrixView w, const InitSpec& spec, std::uint64_t seed, std::uint64_t stream) {
  check_view("initialize", "w", w);
  validate(spec);
  if (w.rows == 0 || w.cols == 0) return;
  const double fan_in = static_cast<double>(w.rows);
  const double fan_out = static_cast<double>(w.cols);
  const double gain = spec.gain;
  auto uniform_limit = [&](double limit) {
    const auto l = static_cast<float>(limit);
    fill_uniform(w, -l, l, seed, stream);
  };
  auto normal_stddev = [&](double stddev) {
    fill_normal(w, 0.0f, static_cast<float>(stddev), seed, stream);
  };
  switch (spec.kind) {
    case Init::zeros: fill_constant(w, 0.0f); return;
    case Init::constant: fill_constant(w, spec.value); return;
    case Init::normal: normal_stddev(spec.stddev); return;
    case Init::uniform: fill_uniform(w, spec.low, spec.high, seed, stream); return;
    case Init::xavier_uniform: uniform_limit(gain * std::sqrt(6.0 / (fan_in + fan_out))); return;
    case Init::xavier_normal: normal_stddev(gain * std::sqrt(2.0 / (fan_in + fan_out))); return;
    case Init::he_normal: normal_stddev(gain * std::sqrt(2.0 / fan_in)); return;
    case Init::he_uniform: uniform_limit(gain * std::sqrt(6.0 / fan_in)); return;
    case Init::lecun_normal: normal_stddev(gain * std::sqrt(1.0 / fan_in)); return;
    case Init::orthogonal: fill_orthogonal(w, gain, seed, stream); return;
  }
}

const char* init_name(Init kind) {
  switch (kind) {
    case Init::zeros: return "zeros";
    case Init::constant: return "constant";
    case Init::normal: return "normal";
    case Init::uniform: return "uniform";
    case Init::xavier_uniform: return "xavier_uniform";
    case Init::xavier_normal: return "xavier_normal";
    case Init::he_normal: return "he_normal";
    case Init::he_uniform: return "he_uniform";
    case Init::lecun_normal: return "lecun_normal";
    case Init::orthogonal: return "orthogonal";
  }
  return "unknown";
}

Init parse_init(std::string_view name) {
  std::string accepted;
  for (Init kind : kAllInits) {
    if (name == init_name(kind)) return kind;
    accepted += accepted.empty() ? "" : ", ";
    accepted += init_name(kind);
  }
  struct Alias {
    std::string_view name;
    Init kind;
  };
  static constexpr Alias kAliases[] = {{"glorot_uniform", Init::xavier_uniform},
                                       {"glorot_normal", Init::xavier_normal},
                                       {"kaiming_normal", Init::he_normal},
                                       {"kaiming_uniform", Init::he_uniform}};
  std::string aliases;
  for (const Alias& alias : kAliases) {
    if (name == alias.name) return alias.kind;
    aliases += aliases.empty() ? "" : ", ";
    aliases += alias.name;
  }
  throw std::invalid_argument("init: expected one of " + accepted + " (or the aliases " + aliases +
                              "), got \"" + std::string(name) + "\"");
}

}  // namespace simdnn
