// Naive GEMM in double precision: the reference for core/gemm.h.
#pragma once

#include <simdnn/core/gemm.h>

namespace simdnn::reference {

// Same contract as simdnn::gemm (including the epilogue and beta == 0 not reading C), computed
// with a triple loop accumulating in double and the activation evaluated in double.
void gemm(Trans trans_a, Trans trans_b, float alpha, ConstMatrixView a, ConstMatrixView b,
          float beta, MatrixView c, const GemmEpilogue& epilogue = {});

}  // namespace simdnn::reference
