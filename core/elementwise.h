// Elementwise operations and reductions: activations (forward and backward), row-wise softmax and
// log-softmax, BLAS-1 updates, the reductions that layers and optimizers need (sum of squares,
// column sums, column mean and variance), and the binary cross-entropy's elementwise part.
//
// Every function runs on the ISA of active_isa() (core/isa.h). Inputs of at least
// kElementwiseParallelThreshold elements are cut into tasks whose boundaries depend only on the
// shape (chunks of kElementwiseChunk floats, tiles of whole rows, or blocks of 32 columns) and
// run on num_threads() threads; smaller inputs (and logistic_loss, always) run on the calling
// thread. Maps give the same bits
// however they are cut; reductions combine per-task partials in a fixed order. Either way the
// result is bit-identical at any thread count. Nothing here allocates memory.
//
// Arguments: a null pointer with n > 0, a view whose leading dimension is smaller than its
// columns, or views of different shapes throw ShapeError (a std::invalid_argument) whose message
// names the operation, the argument, what was expected and what was given. Outputs may equal an
// input exactly (in place) where stated; any other overlap is undefined.
//
// Accuracy (tested on every ISA over a dense sweep of [−88, 88], a logarithmic sweep of
// ±[1e-8, 1] and special values), against the same formulas evaluated in double; u = 2^-24, the
// float unit roundoff; relative error = |y − y_exact| / |y_exact|:
//   identity, relu                  exact.
//   leaky_relu                      alpha·x correctly rounded (relative error ≤ u).
//   sigmoid, tanh, swish, softplus  relative error ≤ 8u (largest measured 4.7u, 5.4u, 5.7u, 3.9u).
//   elu, selu                       relative error ≤ 4u (measured 1.2u, 2.2u), also near 0:
//                                   alpha·(e^x − 1) is evaluated as expm1, not as a difference.
//   gelu                            relative error ≤ 8u + 4u·|z|, z = 2·sqrt(2/π)·(x + 0.044715x³):
//                                   the float rounding of z is amplified by sigmoid's slope where
//                                   gelu is tiny (x < −2).
//   Results below 2^-126 in magnitude may instead be off by up to 2^-126·max(1, |x|) (sigmoid,
//   swish and gelu flush to ±0 below about x = −88.4, where they are < 100·2^-127 anyway).
// Backward passes, given y from activation_forward:
//   |dx − dy·f'(x)| ≤ |dy|·(8u·|f'(x)| + 16u·T(x) + 2^-126·(1 + |x|))   (gelu: 1 + |x·z'|)
// where T(x) bounds the terms f' is computed from, whose rounding does not scale with f' itself
// (f' cancels to 0 at gelu's and swish's minima, and 1 − y loses the tail of sigmoid and tanh):
// T = sigmoid(x) for sigmoid, tanh²(x) for tanh, |y| for elu and selu, sigmoid(x)·(1 + 2|x|·
// sigmoid(−x)) for swish, (1 + |z|)·sigmoid(z)·(1 + |x·z'|·sigmoid(−z)) for gelu, 0 for the others
// (identity, relu and leaky_relu are exact up to one rounding; softplus' is sigmoid, ≤ 8u).
// Special values follow the limits of each formula: NaN in gives NaN out; sigmoid(±inf) = 1, 0;
// tanh(±inf) = ±1; relu(−inf) = 0; elu(−inf) = −alpha; selu(−inf) = −λα; softplus(+inf) = +inf,
// softplus(−inf) = 0; gelu and swish give +inf at +inf and −0 at −inf. Large |x| never
// overflows to NaN or inf (softplus(80) = 80, sigmoid(−88) = 6.05e−39, gelu(88) = 88).
//
// Speed (bench/elementwise_bench.cc): exp-based activations use a vectorized exp with its own
// range reduction and a [3/3] Padé or degree-6 polynomial (core/kernels/vector_math.h), not
// libm and not xsimd's exp; relu-like maps run at memory speed.
#pragma once

#include <cstddef>

#include <simdnn/core/activation.h>
#include <simdnn/core/tensor.h>

namespace simdnn {

// Floats per chunk of the parallel loops; a chunk boundary never depends on the thread count.
inline constexpr std::size_t kElementwiseChunk = 16384;
// Below this many elements an operation runs on the calling thread.
inline constexpr std::size_t kElementwiseParallelThreshold = 65536;

// ---- activations ----------------------------------------------------------------------------

// y[i] = f(x[i]) for i < n, f as in core/activation.h. y may equal x.
void activation_forward(ActivationSpec act, const float* x, float* y, std::size_t n);
// The same on views of equal shape (any leading dimensions). y may equal x (same data and ld).
void activation_forward(ActivationSpec act, ConstMatrixView x, MatrixView y);

// dx[i] = dy[i]·f'(x[i]), where x is the pre-activation input and y = f(x) the forward output.
// Each activation reads what is cheapest: sigmoid and tanh read y; relu and leaky_relu read x;
// elu and selu read x and y; gelu, swish and softplus read x. All four pointers must be non-null
// when n > 0. dx may equal dy. At the kinks (relu, leaky_relu, elu at x = 0) the derivative is
// taken from the left: f'(0) = 0, alpha, alpha. A NaN x gives a NaN dx.
void activation_backward(ActivationSpec act, const float* x, const float* y, const float* dy,
                         float* dx, std::size_t n);
void activation_backward(ActivationSpec act, ConstMatrixView x, ConstMatrixView y,
                         ConstMatrixView dy, MatrixView dx);

// ---- softmax ----------------------------------------------------------------------------------

// Row-wise softmax: y(r, j) = e^(x(r, j) − m_r) / Σ_k e^(x(r, k) − m_r), m_r = max_k x(r, k). The
// difference x − m_r is carried exactly (its rounding error would otherwise grow the relative
// error of small probabilities with |x − m_r|) and the sum is accumulated in double: relative
// error ≤ 8u per element (largest measured 4.8u), also for probabilities down to 2^-126. −inf
// entries give 0; a row containing NaN or +inf, or made only of −inf, gives a NaN row. y may
// equal x.
void softmax_forward(ConstMatrixView x, MatrixView y);
// y(r, j) = (x(r, j) − m_r) − log Σ_k e^(x(r, k) − m_r), the sum in double;
// |error| ≤ 4u·(|x(r, j) − m_r| + |y(r, j)|). y may equal x.
void log_softmax_forward(ConstMatrixView x, MatrixView y);
// dx = y ⊙ (dy − Σ_j y_j·dy_j) per row, given y = softmax(x), the dot product accumulated in
// double: |error| ≤ 2u·|y|·(|dy| + 2|Σ_j y_j·dy_j|). dx may equal dy or y.
void softmax_backward(ConstMatrixView y, ConstMatrixView dy, MatrixView dx);
// dx = dy − e^y·Σ_j dy_j per row, given y = log_softmax(x), the sum in double:
// |error| ≤ 2u·(|dy| + 4·e^y·|Σ_j dy_j|). dx may equal dy or y.
void log_softmax_backward(ConstMatrixView y, ConstMatrixView dy, MatrixView dx);

// ---- BLAS-1 -----------------------------------------------------------------------------------

// y[i] += a·x[i] (fused multiply-add where the ISA has one).
void axpy(float a, const float* x, float* y, std::size_t n);
// y[i] = a·x[i]; y may equal x.
void scale(float a, const float* x, float* y, std::size_t n);
// y[i] = a[i] + b[i]; y may equal a or b.
void add(const float* a, const float* b, float* y, std::size_t n);
// y[i] = a[i]·b[i]; y may equal a or b.
void multiply(const float* a, const float* b, float* y, std::size_t n);

// ---- reductions -------------------------------------------------------------------------------

// Σ x[i]² (e.g. for gradient-norm clipping), accumulated in double: the squares are exact in
// double and the chunks of kElementwiseChunk values are summed in a fixed order, so the relative
// error is ≤ n·2^-53, far below float precision for any n that fits in memory.
double sum_of_squares(const float* x, std::size_t n);
// √(Σ x(r, c)²) of a view (any leading dimension): sum_of_squares per row, in row order.
double frobenius_norm(ConstMatrixView x);

// sums[j] = Σ_r x(r, j) for the x.cols columns (the bias gradient of a batch), accumulated in
// double over the rows in order and rounded once to float: error ≤ u·|sums[j]| + m·2^-53·Σ_r
// |x(r, j)|. sums needs x.cols floats (it may not overlap x).
void column_sums(ConstMatrixView x, float* sums);

// Per column: mean[j] = (1/m)·Σ_r x(r, j) and the biased variance
// var[j] = (1/m)·Σ_r (x(r, j) − mean[j])², m = x.rows ≥ 1 (as BatchNorm needs). Two passes over
// the rows, both accumulated in double (so no cancellation, even for a large common offset), each
// result rounded once to float. mean and var need x.cols floats each.
void column_mean_var(ConstMatrixView x, float* mean, float* var);

// sums[j] += (float)Σ_r x(r, j): column_sums added into an existing vector (a bias gradient
// accumulating over batches); the sum in double, rounded once.
void add_column_sums(ConstMatrixView x, float* sums);

// ---- losses ----------------------------------------------------------------------------------

// The binary cross-entropy from logits of train/loss.h, elementwise, on the calling thread:
// returns Σ_{r,c} max(z, 0) − z·y + log1p(e^−|z|) for z = z(r, c), y = y(r, c), and when dz has
// data sets dz(r, c) = (σ(z) − y)/divisor. Each term and gradient is evaluated in double from the
// float inputs (vectorized exp and log1p, within a few double ulps of libm's) and the gradient is
// rounded once to float; the terms are summed in double in vector-lane partial sums, an order
// that depends on the ISA and on whether the views are contiguous, never on the thread count.
// Any finite z gives finite results; a NaN z gives NaN terms and gradients; an infinite z gives an
// infinite or NaN term and a finite gradient (σ is 0 or 1 there). dz may be z or y. Throws
// ShapeError unless y (and dz when it has data) have z's shape, and std::invalid_argument unless
// divisor > 0 when dz has data.
double logistic_loss(ConstMatrixView z, ConstMatrixView y, MatrixView dz, double divisor);

// ---- batch normalization ---------------------------------------------------------------------
// The passes of BatchNorm over a batch x (m x n), per column j, vectorized per ISA and
// bit-identical at any thread count. Parameter vectors hold n floats each.

// y(r, j) = γ_j·h + β_j with h = (x(r, j) − mean_j)·inv_std_j, and xhat(r, j) = h when xhat has
// data (it is ignored when xhat.data is null). y and xhat must have x's shape and may be x
// itself, but not each other.
void batchnorm_normalize(ConstMatrixView x, const float* mean, const float* inv_std,
                         const float* gamma, const float* beta, MatrixView y, MatrixView xhat = {});

// The backward pass given dy and xhat (the forward's h), m = dy.rows >= 1:
//   dbeta_j += Σ_r dy(r, j),  dgamma_j += Σ_r dy(r, j)·xhat(r, j)   (in double, rounded once),
//   dx(r, j) = γ_j·inv_std_j·(dy(r, j) − mean_r dy(·, j) − xhat(r, j)·mean_r (dy·xhat)(·, j)).
// dx may be dy itself.
void batchnorm_backward(ConstMatrixView dy, ConstMatrixView xhat, const float* gamma,
                        const float* inv_std, float* dgamma, float* dbeta, MatrixView dx);
// The same pass given the forward's input x and the mean it used instead of xhat: xhat is
// recomputed as (x − mean_j)·inv_std_j, batchnorm_normalize's arithmetic, so the results have the
// same bits, and the forward pass need not store xhat (one matrix less to write and to keep).
void batchnorm_backward(ConstMatrixView dy, ConstMatrixView x, const float* mean, const float* gamma,
                        const float* inv_std, float* dgamma, float* dbeta, MatrixView dx);

// The pair BatchNorm → ReLU in one pass each way (one read and one write of the batch fewer
// forward, three backward), with the same bits as batchnorm_normalize followed by
// activation_forward(relu), and as activation_backward(relu) followed by batchnorm_backward (a NaN
// may differ in sign or payload where several NaNs meet):
//   y(r, j) = max(0, γ_j·h + β_j), h = (x(r, j) − mean_j)·inv_std_j (y may be x);
//   backward, given the ReLU output's gradient dy: g = dy where z = γ_j·xhat + β_j > 0, NaN where
//   z is NaN, else 0 (z recomputed from x with the forward's arithmetic), then batchnorm_backward
//   of g: dbeta_j += Σ_r g, dgamma_j += Σ_r g·xhat, and dx. dx may be dy itself.
void batchnorm_normalize_relu(ConstMatrixView x, const float* mean, const float* inv_std, const float* gamma,
                              const float* beta, MatrixView y);
void batchnorm_relu_backward(ConstMatrixView dy, ConstMatrixView x, const float* mean, const float* gamma,
                             const float* beta, const float* inv_std, float* dgamma, float* dbeta, MatrixView dx);

// y = max(0, z + skip), z = batchnorm_normalize(x): a residual block's last BatchNorm, the
// addition of its shortcut and the ReLU after them, in one pass, with the same bits as
// batchnorm_normalize, add and activation_forward(relu) one after the other (where z and skip are
// both NaN, which NaN passes on may differ, as with any addition). y keeps the sum's −0. skip and
// y have x's shape; y may be x or skip itself (the same data and ld). Its backward is the ReLU's
// read from y (y > 0 exactly where the sum is, and NaN exactly where it is NaN), then
// batchnorm_backward's.
void batchnorm_normalize_add_relu(ConstMatrixView x, const float* mean, const float* inv_std, const float* gamma,
                                  const float* beta, ConstMatrixView skip, MatrixView y);

}  // namespace simdnn
