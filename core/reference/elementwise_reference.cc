#include <simdnn/core/reference/elementwise_reference.h>

#include <cmath>
#include <limits>
#include <vector>

namespace simdnn::reference {
namespace {

constexpr double kSeluLambda = 1.0507009873554805;
constexpr double kSeluAlpha = 1.6732632423543772;
constexpr double kGeluK = 0.79788456080286535588;  // sqrt(2/π)
constexpr double kGeluC = 0.044715;

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// 2u for gelu: 0.5·x·(1 + tanh(u)) = x·sigmoid(2u).
double gelu_z(double x) { return 2.0 * kGeluK * (x + kGeluC * x * x * x); }

}  // namespace

double activation_value(ActivationSpec act, double x) {
  switch (act.kind) {
    case Activation::identity: return x;
    case Activation::sigmoid: return sigmoid(x);
    case Activation::tanh: return std::tanh(x);
    case Activation::relu: return std::isnan(x) ? x : (x > 0 ? x : 0.0);
    case Activation::leaky_relu: return x > 0 ? x : act.alpha * x;
    case Activation::elu: return x > 0 ? x : act.alpha * std::expm1(x);
    case Activation::selu: return kSeluLambda * (x > 0 ? x : kSeluAlpha * std::expm1(x));
    case Activation::gelu:
      if (std::isinf(x)) return x > 0 ? x : -0.0;
      return x * sigmoid(gelu_z(x));
    case Activation::swish:
      if (std::isinf(x)) return x > 0 ? x : -0.0;
      return x * sigmoid(x);
    case Activation::softplus:
      return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
  }
  return std::numeric_limits<double>::quiet_NaN();
}

double activation_derivative(ActivationSpec act, double x) {
  if (act.kind == Activation::identity) return 1.0;  // x is not read
  if (std::isnan(x)) return x;
  switch (act.kind) {
    case Activation::identity: return 1.0;
    case Activation::sigmoid: return sigmoid(x) * sigmoid(-x);
    case Activation::tanh: {
      const double c = std::cosh(x);
      return 1.0 / (c * c);
    }
    case Activation::relu: return x > 0 ? 1.0 : 0.0;
    case Activation::leaky_relu: return x > 0 ? 1.0 : act.alpha;
    case Activation::elu: return x > 0 ? 1.0 : act.alpha * std::exp(x);
    case Activation::selu: return x > 0 ? kSeluLambda : kSeluLambda * kSeluAlpha * std::exp(x);
    case Activation::gelu: {
      if (std::isinf(x)) return x > 0 ? 1.0 : 0.0;
      const double z = gelu_z(x);
      const double dz = 2.0 * kGeluK * (1.0 + 3.0 * kGeluC * x * x);
      return sigmoid(z) * (1.0 + x * dz * sigmoid(-z));
    }
    case Activation::swish:
      if (std::isinf(x)) return x > 0 ? 1.0 : 0.0;
      return sigmoid(x) * (1.0 + x * sigmoid(-x));
    case Activation::softplus: return sigmoid(x);
  }
  return std::numeric_limits<double>::quiet_NaN();
}

void activation_forward(ActivationSpec act, const float* x, double* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = activation_value(act, x[i]);
}

void activation_backward(ActivationSpec act, const float* x, const float* dy, double* dx,
                         std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    dx[i] = static_cast<double>(dy[i]) * activation_derivative(act, x[i]);
}

void softmax_forward(ConstMatrixView x, double* y) {
  for (std::size_t r = 0; r < x.rows; ++r) {
    double m = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < x.cols; ++j) m = std::fmax(m, x(r, j));
    long double sum = 0;
    for (std::size_t j = 0; j < x.cols; ++j) sum += std::exp(x(r, j) - m);
    for (std::size_t j = 0; j < x.cols; ++j) {
      y[r * x.cols + j] = static_cast<double>(std::exp(x(r, j) - m) / sum);
    }
  }
}

void log_softmax_forward(ConstMatrixView x, double* y) {
  for (std::size_t r = 0; r < x.rows; ++r) {
    double m = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < x.cols; ++j) m = std::fmax(m, x(r, j));
    long double sum = 0;
    for (std::size_t j = 0; j < x.cols; ++j) sum += std::exp(x(r, j) - m);
    const double lse = static_cast<double>(std::log(sum));
    for (std::size_t j = 0; j < x.cols; ++j) y[r * x.cols + j] = (x(r, j) - m) - lse;
  }
}

void softmax_backward(ConstMatrixView y, ConstMatrixView dy, double* dx) {
  for (std::size_t r = 0; r < y.rows; ++r) {
    long double dot = 0;
    for (std::size_t j = 0; j < y.cols; ++j) dot += static_cast<long double>(y(r, j)) * dy(r, j);
    for (std::size_t j = 0; j < y.cols; ++j) {
      dx[r * y.cols + j] = static_cast<double>(y(r, j) * (dy(r, j) - dot));
    }
  }
}

void log_softmax_backward(ConstMatrixView y, ConstMatrixView dy, double* dx) {
  for (std::size_t r = 0; r < y.rows; ++r) {
    long double sum = 0;
    for (std::size_t j = 0; j < y.cols; ++j) sum += dy(r, j);
    for (std::size_t j = 0; j < y.cols; ++j) {
      dx[r * y.cols + j] =
          static_cast<double>(dy(r, j) - std::exp(static_cast<long double>(y(r, j))) * sum);
    }
  }
}

void axpy(float a, const float* x, const float* y, double* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<double>(y[i]) + static_cast<double>(a) * x[i];
}

void scale(float a, const float* x, double* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<double>(a) * x[i];
}

void add(const float* a, const float* b, double* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<double>(a[i]) + b[i];
}

void multiply(const float* a, const float* b, double* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<double>(a[i]) * b[i];
}

double sum_of_squares(const float* x, std::size_t n) {
  long double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<long double>(x[i]) * x[i];
  return static_cast<double>(s);
}

double logistic_loss(const float* z, const float* y, double* dz, double divisor, std::size_t n) {
  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double zi = z[i], yi = y[i], e = std::exp(-std::fabs(zi));
    total += std::fmax(zi, 0.0) - zi * yi + std::log1p(e);
    dz[i] = ((zi >= 0.0 ? 1.0 : e) / (1.0 + e) - yi) / divisor;
  }
  return total;
}

void column_sums(ConstMatrixView x, double* sums) {
  std::vector<long double> s(x.cols, 0);
  for (std::size_t r = 0; r < x.rows; ++r) {
    for (std::size_t j = 0; j < x.cols; ++j) s[j] += x(r, j);
  }
  for (std::size_t j = 0; j < x.cols; ++j) sums[j] = static_cast<double>(s[j]);
}

void column_mean_var(ConstMatrixView x, double* mean, double* var) {
  const long double m = static_cast<long double>(x.rows);
  for (std::size_t j = 0; j < x.cols; ++j) {
    long double s = 0;
    for (std::size_t r = 0; r < x.rows; ++r) s += x(r, j);
    const long double mu = s / m;
    long double ss = 0;
    for (std::size_t r = 0; r < x.rows; ++r) ss += (x(r, j) - mu) * (x(r, j) - mu);
    mean[j] = static_cast<double>(mu);
    var[j] = static_cast<double>(ss / m);
  }
}

}  // namespace simdnn::reference
