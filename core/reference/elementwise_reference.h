// Plain C++ references for core/elementwise.h, evaluated in double precision (long double for
// the long sums) and returned in double, so tests can measure the error of the float kernels.
// Never used by the library itself.
//
// Formulas are those of core/activation.h, rearranged only where the textbook form loses
// accuracy in double (gelu as x·sigmoid(2u) instead of 0.5·x·(1 + tanh(u)), which cancels for
// u < −19; tanh' as 1/cosh², which does not round to 0 beyond |x| = 19). At ±inf every function
// returns its limit (gelu(−inf) = swish(−inf) = −0, derivatives 0 or 1).
#pragma once

#include <cstddef>

#include <simdnn/core/activation.h>
#include <simdnn/core/tensor.h>

namespace simdnn::reference {

// f(x) and f'(x). At the kinks of relu, leaky_relu and elu (x = 0) the derivative is the
// left-hand one (0, alpha, alpha), as in simdnn::activation_backward.
double activation_value(ActivationSpec act, double x);
double activation_derivative(ActivationSpec act, double x);

// y[i] = f(x[i]);  dx[i] = dy[i]·f'(x[i]).
void activation_forward(ActivationSpec act, const float* x, double* y, std::size_t n);
void activation_backward(ActivationSpec act, const float* x, const float* dy, double* dx,
                         std::size_t n);

// Row-wise, into row-major x.rows x x.cols arrays of doubles.
void softmax_forward(ConstMatrixView x, double* y);
void log_softmax_forward(ConstMatrixView x, double* y);
void softmax_backward(ConstMatrixView y, ConstMatrixView dy, double* dx);
void log_softmax_backward(ConstMatrixView y, ConstMatrixView dy, double* dx);

// out[i] = y[i] + a·x[i];  a·x[i];  a[i] + b[i];  a[i]·b[i].
void axpy(float a, const float* x, const float* y, double* out, std::size_t n);
void scale(float a, const float* x, double* out, std::size_t n);
void add(const float* a, const float* b, double* out, std::size_t n);
void multiply(const float* a, const float* b, double* out, std::size_t n);

double sum_of_squares(const float* x, std::size_t n);
// sums[j] = Σ_r x(r, j);  mean[j] and biased var[j] (1/m) over the rows.
void column_sums(ConstMatrixView x, double* sums);
void column_mean_var(ConstMatrixView x, double* mean, double* var);

// Σ max(z, 0) − z·y + log1p(e^−|z|) over the n elements, and dz[i] = (σ(z) − y)/divisor, with
// libm in double.
double logistic_loss(const float* z, const float* y, double* dz, double divisor, std::size_t n);

}  // namespace simdnn::reference
