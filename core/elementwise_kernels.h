// The per-ISA elementwise kernel table: what core/elementwise.cc (and the GEMM epilogue) need
// from each instruction set.
//
// Every kernel works on one contiguous range (or, for the column reductions, one block of rows)
// on the calling thread; threading, chunking and argument checks live in core/elementwise.cc.
// Kernels never allocate and never throw. Results do not depend on where a range starts or how
// long it is: a range's last partial vector is computed by the same vector code on a padded
// copy, so splitting a range anywhere gives bit-identical outputs.
#pragma once

#include <cstddef>

#include <simdnn/core/activation.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/kernels/arch.h>

namespace simdnn::internal {

// A plain aggregate of function pointers (no constructors or member functions: nothing here may
// be compiled into a per-ISA object as an inline function that the baseline code could call).
struct ElementwiseKernels {
  // y = f(x) for n elements; y may equal x (in place) but must not otherwise overlap it.
  void (*activation_forward)(ActivationSpec act, const float* x, float* y, std::size_t n);
  // dx = dy·f'(x), given x (pre-activation) and y = f(x); dx may equal dy.
  void (*activation_backward)(ActivationSpec act, const float* x, const float* y, const float* dy,
                              float* dx, std::size_t n);

  // One row of n > 0 elements: y = softmax(x) / log_softmax(x) (y may equal x), and the
  // backward passes dx from y = the forward output and dy (dx may equal dy or y).
  void (*softmax_row)(const float* x, float* y, std::size_t n);
  void (*log_softmax_row)(const float* x, float* y, std::size_t n);
  void (*softmax_backward_row)(const float* y, const float* dy, float* dx, std::size_t n);
  void (*log_softmax_backward_row)(const float* y, const float* dy, float* dx, std::size_t n);

  void (*axpy)(float a, const float* x, float* y, std::size_t n);             // y += a·x
  void (*scale)(float a, const float* x, float* y, std::size_t n);            // y = a·x
  void (*add)(const float* a, const float* b, float* y, std::size_t n);       // y = a + b
  void (*multiply)(const float* a, const float* b, float* y, std::size_t n);  // y = a·b

  // Σ x_i², accumulated in double (the products are exact in double).
  double (*sum_of_squares)(const float* x, std::size_t n);
  // acc[j] += Σ_r x[r·ld + j] for r < rows, j < cols, accumulated in double, rows in order.
  void (*column_sums)(const float* x, std::size_t rows, std::size_t cols, std::size_t ld,
                      double* acc);
  // acc[j] += Σ_r (x[r·ld + j] − mean[j])², in double, rows in order.
  void (*column_centered_squares)(const float* x, std::size_t rows, std::size_t cols,
                                  std::size_t ld, const double* mean, double* acc);

  // Batch normalization's row passes over rows x cols (each matrix with its own leading
  // dimension; per-column parameters indexed by column):
  //   forward:  h = (x − mean_j)·inv_std_j, y = γ_j·h + β_j, and xhat = h unless xhat is null;
  //             relu: y = max(0, y), the pair BatchNorm → ReLU in one pass;
  //   backward: dx = k_j·(g − a_j − xhat·b_j), g = dy, or with the ReLU after the BatchNorm
  //             (gamma not null) ReLU's backward of dy at z = γ_j·xhat + β_j.
  // The backward kernels read xhat from `h`, or, when mean is not null, recompute it from the
  // forward's input x in `h` as (x − mean_j)·inv_std_j: the forward's arithmetic, the same bits.
  void (*batchnorm_forward)(const float* x, std::size_t ldx, std::size_t rows, std::size_t cols,
                            const float* mean, const float* inv_std, const float* gamma,
                            const float* beta, float* xhat, std::size_t ldh, float* y,
                            std::size_t ldy, bool relu);
  void (*batchnorm_backward)(const float* dy, std::size_t lddy, const float* h, std::size_t ldh,
                             const float* mean, const float* inv_std, const float* gamma,
                             const float* beta, std::size_t rows, std::size_t cols, const float* k,
                             const float* a, const float* b, float* dx, std::size_t lddx);
  // y = max(0, (γ_j·h + β_j) + skip), each step rounded as batchnorm_forward, add and the ReLU
  // round it: a residual block's last BatchNorm, shortcut and ReLU in one pass.
  void (*batchnorm_forward_add_relu)(const float* x, std::size_t ldx, const float* skip, std::size_t lds,
                                     std::size_t rows, std::size_t cols, const float* mean, const float* inv_std,
                                     const float* gamma, const float* beta, float* y, std::size_t ldy);
  // acc_dy[j] += Σ_r g(r, j), acc_dot[j] += Σ_r g(r, j)·xhat(r, j), in double, rows in order; g
  // as in batchnorm_backward.
  void (*column_sums_and_dots)(const float* dy, std::size_t lddy, const float* h,
                               std::size_t ldh, const float* mean, const float* inv_std,
                               const float* gamma, const float* beta, std::size_t rows,
                               std::size_t cols, double* acc_dy, double* acc_dot);

  // Binary cross-entropy from logits over n elements, in double: returns
  // Σ max(z, 0) − z·y + log1p(e^−|z|), and when dz is not null sets dz = (σ(z) − y)/divisor
  // rounded once to float. dz may equal z or y.
  double (*logistic_loss)(const float* z, const float* y, float* dz, double divisor, std::size_t n);
};

// The table for `isa`, built once on first use. Throws std::invalid_argument if the CPU does not
// support `isa` (building it would already execute that ISA's instructions).
const ElementwiseKernels& elementwise_kernels(Isa isa);

// Defined in kernels/elementwise.h and instantiated only in elementwise_<isa>.cc.
template <class Arch>
ElementwiseKernels make_elementwise_kernels();

#define SIMDNN_EXTERN_ELEMENTWISEKERNELS(name) extern template ElementwiseKernels make_elementwise_kernels<XsimdArch<Isa::name>::type>();
SIMDNN_ISA_LIST(SIMDNN_EXTERN_ELEMENTWISEKERNELS)
#undef SIMDNN_EXTERN_ELEMENTWISEKERNELS

}  // namespace simdnn::internal
