#include "bench/eigen_gemm.h"

#include <Eigen/Core>

namespace simdnn::bench {

void eigen_gemm(bool trans_a, bool trans_b, int m, int n, int k, const float* a, const float* b,
                float* c, int threads) {
  using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::setNbThreads(threads);
  Eigen::Map<const RowMatrix> am(a, trans_a ? k : m, trans_a ? m : k);
  Eigen::Map<const RowMatrix> bm(b, trans_b ? n : k, trans_b ? k : n);
  Eigen::Map<RowMatrix> cm(c, m, n);
  if (trans_a && trans_b) {
    cm.noalias() = am.transpose() * bm.transpose();
  } else if (trans_a) {
    cm.noalias() = am.transpose() * bm;
  } else if (trans_b) {
    cm.noalias() = am * bm.transpose();
  } else {
    cm.noalias() = am * bm;
  }
}

}  // namespace simdnn::bench
