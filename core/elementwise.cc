// Dispatch, argument checks and deterministic chunking for the elementwise kernels. Compiled for
// the baseline ISA: the per-ISA code is reached only through the tables of elementwise_kernels().
#include <simdnn/core/elementwise.h>

#include <cmath>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <utility>

#include <simdnn/core/elementwise_kernels.h>
#include <simdnn/core/kernels/dispatch.h>
#include <simdnn/core/denormals.h>
#include <simdnn/core/error.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/pairwise_sum.h>
#include <simdnn/core/parallel.h>
#include <simdnn/core/thread_scratch.h>
#include <simdnn/core/threading.h>

namespace simdnn {
namespace internal {

const ElementwiseKernels& elementwise_kernels(Isa isa) {
  return kernel_table<ElementwiseKernels>("elementwise_kernels", isa, []<class Arch>() { return make_elementwise_kernels<Arch>(); });
}

}  // namespace internal

namespace {

// Every public function reads this once, at its start, and passes the table to its tiles: a
// concurrent set_isa() affects only later calls, never the rest of a running one.
const internal::ElementwiseKernels& kernels() { return internal::elementwise_kernels(active_isa()); }

std::string shape_of(ConstMatrixView v) { return shape_string(v.rows, v.cols); }

void require_data(const char* op, const char* arg, const void* p, std::size_t n) {
  if (p == nullptr && n != 0) {
    throw ShapeError(std::string(op) + ": " + arg + " is null, expected " + std::to_string(n) +
                     " floats");
  }
}

void require_activation(const char* op, ActivationSpec act) {
  for (Activation kind : kAllActivations) {
    if (act.kind == kind) return;
  }
  std::string accepted;
  for (Activation kind : kAllActivations) {
    accepted += accepted.empty() ? "" : ", ";
    accepted += activation_name(kind);
  }
  throw std::invalid_argument(std::string(op) + ": act.kind is " +
                              std::to_string(static_cast<int>(act.kind)) + ", expected one of " +
                              accepted);
}

// `view` (argument `arg`) must have at least one row.
void require_rows(const char* op, const char* arg, ConstMatrixView view) {
  if (view.rows == 0) {
    throw ShapeError(std::string(op) + ": " + arg + " is " + shape_of(view) + ", expected at least one row");
  }
}

// `view` must have the shape of `ref` (argument `ref_name`).
void require_same_shape(const char* op, const char* arg, ConstMatrixView view, const char* ref_name,
                        ConstMatrixView ref) {
  check_view(op, arg, view);
  if (view.rows != ref.rows || view.cols != ref.cols) {
    throw ShapeError(std::string(op) + ": " + arg + " is " + shape_of(view) + ", expected " +
                     shape_of(ref) + " (the shape of " + ref_name + ")");
  }
}

bool contiguous(ConstMatrixView v) { return v.rows <= 1 || v.ld == v.cols; }

std::size_t chunk_count(std::size_t n) { return (n + kElementwiseChunk - 1) / kElementwiseChunk; }

// body(begin, length) over [0, n): in one call below the threshold, else per fixed chunk.
template <class Body>
void for_chunks(std::size_t n, const Body& body) {
  if (n < kElementwiseParallelThreshold) {
    if (n != 0) body(std::size_t{0}, n);
    return;
  }
  internal::parallel_for_tiles(chunk_count(n), [&](std::size_t c) {
    const std::size_t begin = c * kElementwiseChunk;
    const std::size_t len = n - begin < kElementwiseChunk ? n - begin : kElementwiseChunk;
    body(begin, len);
  });
}

// Rows per tile of a row-wise operation: about one chunk of floats, at least one row.
std::size_t rows_per_tile(std::size_t cols) {
  return cols >= kElementwiseChunk ? 1 : kElementwiseChunk / (cols == 0 ? 1 : cols);
}

// body(r0, r1) for tiles of whole rows [r0, r1) covering [0, rows): one tile below the parallel
// threshold, else tiles of rows_per_tile rows in parallel.
template <class Body>
void for_row_tiles(std::size_t rows, std::size_t cols, const Body& body) {
  if (rows * cols < kElementwiseParallelThreshold) {
    if (rows != 0) body(std::size_t{0}, rows);
    return;
  }
  const std::size_t per = rows_per_tile(cols);
  internal::parallel_for_tiles((rows + per - 1) / per, [&](std::size_t t) {
    body(t * per, (t + 1) * per < rows ? (t + 1) * per : rows);
  });
}

// body(r) for every row r < rows, over for_row_tiles' tiles.
template <class Body>
void for_rows(std::size_t rows, std::size_t cols, const Body& body) {
  for_row_tiles(rows, cols, [&](std::size_t r0, std::size_t r1) {
    for (std::size_t r = r0; r < r1; ++r) body(r);
  });
}

// The column reductions of a large matrix (kElementwiseParallelThreshold elements or more) run
// over blocks of kColumnBlock columns, each block one task that sums every row, in order, into
// double accumulators in scratch: a steady state allocates nothing, and block boundaries depend
// only on the number of columns, so results are thread-count independent. 32 columns: a layer of
// width 256 gives 8 tasks. A smaller matrix is one call over all of its columns.
constexpr std::size_t kColumnBlock = 32;
// Many rows of few columns (BatchNorm2D's pixels × channels) would leave one task doing all the
// work: from 2·kColumnPartRows rows, the rows are cut into parts of kColumnPartRows, each (part,
// block) a task, and the parts' double sums are added in part order. The parts depend only on
// the shape; a matrix with fewer rows is summed exactly as before.
constexpr std::size_t kColumnPartRows = 512;

// The calling thread's scratch number `slot` of at least n doubles (core/thread_scratch.h).
struct ElementwiseScratch;
double* double_scratch(std::size_t slot, std::size_t n) {
  return internal::thread_scratch<ElementwiseScratch, double, 3>(slot, n);
}

// totals[i·cols + j] = the i-th of N sums over every row of column j, where
// reduce(c0, c1, r0, r1, acc) adds the sums of rows [r0, r1) and columns [c0, c1) into
// acc[i][j − c0] (rows in order).
template <int N, class Reduce>
void column_totals(std::size_t rows, std::size_t cols, const Reduce& reduce, double* totals) {
  using Acc = double[N][kColumnBlock];
  if (rows * cols < kElementwiseParallelThreshold) {
    // One call over every column, straight into totals: the kernel interleaves the columns'
    // sums (each still over the rows in order), and a small matrix (a bias gradient) skips the
    // blocks' partials. The same bits as the blocks give.
    std::fill(totals, totals + N * cols, 0.0);
    double* acc[N];
    for (int i = 0; i < N; ++i) acc[i] = totals + static_cast<std::size_t>(i) * cols;
    reduce(0, cols, 0, rows, acc);
    return;
  }
  const std::size_t blocks = (cols + kColumnBlock - 1) / kColumnBlock;
  const bool split = rows >= 2 * kColumnPartRows;
  const std::size_t parts = split ? (rows + kColumnPartRows - 1) / kColumnPartRows : 1;
  Acc* const partial = reinterpret_cast<Acc*>(double_scratch(0, parts * blocks * N * kColumnBlock));
  const auto task = [&](std::size_t t) {
    const std::size_t p = t / blocks, c0 = t % blocks * kColumnBlock;
    const std::size_t r0 = split ? p * kColumnPartRows : 0;
    const std::size_t r1 = split && r0 + kColumnPartRows < rows ? r0 + kColumnPartRows : rows;
    Acc& acc = partial[t];
    for (auto& sums : acc) std::fill(sums, sums + kColumnBlock, 0.0);
    reduce(c0, c0 + kColumnBlock < cols ? c0 + kColumnBlock : cols, r0, r1, acc);
  };
  internal::parallel_for_tiles(parts * blocks, task);
  for (std::size_t j = 0; j < cols; ++j) {
    for (int i = 0; i < N; ++i) {
      double sum = partial[j / kColumnBlock][i][j % kColumnBlock];
      for (std::size_t p = 1; p < parts; ++p) sum += partial[p * blocks + j / kColumnBlock][i][j % kColumnBlock];
      totals[static_cast<std::size_t>(i) * cols + j] = sum;
    }
  }
}

// sum_of_squares: at most kMaxSumTasks tasks, each summing a run of consecutive chunks in
// order; the task partials (on the stack) are then summed in order.
constexpr std::size_t kMaxSumTasks = 256;

}  // namespace

// ---- activations ----------------------------------------------------------------------------

void activation_forward(ActivationSpec act, const float* x, float* y, std::size_t n) {
  constexpr const char* op = "activation_forward";
  require_activation(op, act);
  require_data(op, "x", x, n);
  require_data(op, "y", y, n);
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  for_chunks(n,
             [&](std::size_t b, std::size_t len) { k.activation_forward(act, x + b, y + b, len); });
}

void activation_forward(ActivationSpec act, ConstMatrixView x, MatrixView y) {
  constexpr const char* op = "activation_forward";
  require_activation(op, act);
  check_view(op, "x", x);
  require_same_shape(op, "y", y, "x", x);
  if (contiguous(x) && contiguous(y)) {
    activation_forward(act, x.data, y.data, x.rows * x.cols);
    return;
  }
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  for_rows(x.rows, x.cols,
           [&](std::size_t r) { k.activation_forward(act, x.row(r), y.row(r), x.cols); });
}

void activation_backward(ActivationSpec act, const float* x, const float* y, const float* dy,
                         float* dx, std::size_t n) {
  constexpr const char* op = "activation_backward";
  require_activation(op, act);
  require_data(op, "x", x, n);
  require_data(op, "y", y, n);
  require_data(op, "dy", dy, n);
  require_data(op, "dx", dx, n);
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  for_chunks(n, [&](std::size_t b, std::size_t len) {
    k.activation_backward(act, x + b, y + b, dy + b, dx + b, len);
  });
}

void activation_backward(ActivationSpec act, ConstMatrixView x, ConstMatrixView y,
                         ConstMatrixView dy, MatrixView dx) {
  constexpr const char* op = "activation_backward";
  require_activation(op, act);
  check_view(op, "x", x);
  require_same_shape(op, "y", y, "x", x);
  require_same_shape(op, "dy", dy, "x", x);
  require_same_shape(op, "dx", dx, "x", x);
  if (contiguous(x) && contiguous(y) && contiguous(dy) && contiguous(dx)) {
    activation_backward(act, x.data, y.data, dy.data, dx.data, x.rows * x.cols);
    return;
  }
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  for_rows(x.rows, x.cols, [&](std::size_t r) {
    k.activation_backward(act, x.row(r), y.row(r), dy.row(r), dx.row(r), x.cols);
  });
}

// ---- softmax --------------------------------------------------------------------------------

void softmax_forward(ConstMatrixView x, MatrixView y) {
  constexpr const char* op = "softmax_forward";
  check_view(op, "x", x);
  require_same_shape(op, "y", y, "x", x);
  if (x.cols == 0) return;
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  for_rows(x.rows, x.cols, [&](std::size_t r) { k.softmax_row(x.row(r), y.row(r), x.cols); });
}

void log_softmax_forward(ConstMatrixView x, MatrixView y) {
  constexpr const char* op = "log_softmax_forward";
  check_view(op, "x", x);
  require_same_shape(op, "y", y, "x", x);
  if (x.cols == 0) return;
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  for_rows(x.rows, x.cols, [&](std::size_t r) { k.log_softmax_row(x.row(r), y.row(r), x.cols); });
}

void softmax_backward(ConstMatrixView y, ConstMatrixView dy, MatrixView dx) {
  constexpr const char* op = "softmax_backward";
  check_view(op, "y", y);
  require_same_shape(op, "dy", dy, "y", y);
  require_same_shape(op, "dx", dx, "y", y);
  if (y.cols == 0) return;
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  for_rows(y.rows, y.cols,
           [&](std::size_t r) { k.softmax_backward_row(y.row(r), dy.row(r), dx.row(r), y.cols); });
}

void log_softmax_backward(ConstMatrixView y, ConstMatrixView dy, MatrixView dx) {
  constexpr const char* op = "log_softmax_backward";
  check_view(op, "y", y);
  require_same_shape(op, "dy", dy, "y", y);
  require_same_shape(op, "dx", dx, "y", y);
  if (y.cols == 0) return;
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  for_rows(y.rows, y.cols, [&](std::size_t r) {
    k.log_softmax_backward_row(y.row(r), dy.row(r), dx.row(r), y.cols);
  });
}

// ---- BLAS-1 ---------------------------------------------------------------------------------

void axpy(float a, const float* x, float* y, std::size_t n) {
  require_data("axpy", "x", x, n);
  require_data("axpy", "y", y, n);
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  for_chunks(n, [&](std::size_t b, std::size_t len) { k.axpy(a, x + b, y + b, len); });
}

void scale(float a, const float* x, float* y, std::size_t n) {
  require_data("scale", "x", x, n);
  require_data("scale", "y", y, n);
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  for_chunks(n, [&](std::size_t b, std::size_t len) { k.scale(a, x + b, y + b, len); });
}

void add(const float* a, const float* b, float* y, std::size_t n) {
  require_data("add", "a", a, n);
  require_data("add", "b", b, n);
  require_data("add", "y", y, n);
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  for_chunks(n, [&](std::size_t s, std::size_t len) { k.add(a + s, b + s, y + s, len); });
}

void internal::add_parts(Tensor& lower, const Tensor& upper) {
  add(lower.data(), upper.data(), lower.data(), lower.size());
}

void multiply(const float* a, const float* b, float* y, std::size_t n) {
  require_data("multiply", "a", a, n);
  require_data("multiply", "b", b, n);
  require_data("multiply", "y", y, n);
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  for_chunks(n, [&](std::size_t s, std::size_t len) { k.multiply(a + s, b + s, y + s, len); });
}

// ---- reductions -----------------------------------------------------------------------------

double sum_of_squares(const float* x, std::size_t n) {
  require_data("sum_of_squares", "x", x, n);
  if (n == 0) return 0.0;
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  // Always chunked the same way for a given n, whether or not threads are used.
  const std::size_t chunks = chunk_count(n);
  const std::size_t per_task = (chunks + kMaxSumTasks - 1) / kMaxSumTasks;
  const std::size_t tasks = (chunks + per_task - 1) / per_task;
  double partial[kMaxSumTasks];
  auto task = [&](std::size_t t) {
    const std::size_t c1 = (t + 1) * per_task < chunks ? (t + 1) * per_task : chunks;
    double s = 0.0;
    for (std::size_t c = t * per_task; c < c1; ++c) {
      const std::size_t begin = c * kElementwiseChunk;
      s += k.sum_of_squares(x + begin, n - begin < kElementwiseChunk ? n - begin : kElementwiseChunk);
    }
    partial[t] = s;
  };
  if (n < kElementwiseParallelThreshold) {
    for (std::size_t t = 0; t < tasks; ++t) task(t);
  } else {
    internal::parallel_for_tiles(tasks, task);
  }
  double total = 0.0;
  for (std::size_t t = 0; t < tasks; ++t) total += partial[t];
  return total;
}

double frobenius_norm(ConstMatrixView x) {
  check_view("frobenius_norm", "x", x);
  double total = 0.0;
  for (std::size_t r = 0; r < x.rows; ++r) total += sum_of_squares(x.row(r), x.cols);
  return std::sqrt(total);
}

namespace {

// totals[j] = Σ_r x(r, j) in double (column_totals over the column_sums kernel).
void column_sum_totals(const internal::ElementwiseKernels& k, ConstMatrixView x, double* totals) {
  column_totals<1>(x.rows, x.cols, [&](std::size_t c0, std::size_t c1, std::size_t r0, std::size_t r1, auto& acc) {
    k.column_sums(x.row(r0) + c0, r1 - r0, c1 - c0, x.ld, acc[0]);
  }, totals);
}

// column_sums (add false: sums = Σ) and add_column_sums (add true: sums += Σ).
void column_sums_into(const char* op, ConstMatrixView x, float* sums, bool add) {
  check_view(op, "x", x);
  require_data(op, "sums", sums, x.cols);
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  double* const totals = double_scratch(1, x.cols);
  column_sum_totals(k, x, totals);
  for (std::size_t j = 0; j < x.cols; ++j) {
    const auto sum = static_cast<float>(totals[j]);
    sums[j] = add ? sums[j] + sum : sum;
  }
}

}  // namespace

void column_sums(ConstMatrixView x, float* sums) { column_sums_into("column_sums", x, sums, false); }

void column_mean_var(ConstMatrixView x, float* mean, float* var) {
  constexpr const char* op = "column_mean_var";
  check_view(op, "x", x);
  require_rows(op, "x", x);
  require_data(op, "mean", mean, x.cols);
  require_data(op, "var", var, x.cols);
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  const double m = static_cast<double>(x.rows);
  double* const mu = double_scratch(1, x.cols);
  column_sum_totals(k, x, mu);
  for (std::size_t j = 0; j < x.cols; ++j) mu[j] /= m;
  double* const ss = double_scratch(2, x.cols);
  column_totals<1>(x.rows, x.cols, [&](std::size_t c0, std::size_t c1, std::size_t r0, std::size_t r1, auto& acc) {
    k.column_centered_squares(x.row(r0) + c0, r1 - r0, c1 - c0, x.ld, mu + c0, acc[0]);
  }, ss);
  for (std::size_t j = 0; j < x.cols; ++j) {
    mean[j] = static_cast<float>(mu[j]);
    var[j] = static_cast<float>(ss[j] / m);
  }
}

void add_column_sums(ConstMatrixView x, float* sums) {
  column_sums_into("add_column_sums", x, sums, true);
}

// ---- losses -------------------------------------------------------------------------------------

double logistic_loss(ConstMatrixView z, ConstMatrixView y, MatrixView dz, double divisor) {
  constexpr const char* op = "logistic_loss";
  check_view(op, "z", z);
  require_same_shape(op, "y", y, "z", z);
  const bool gradient = dz.data != nullptr;
  if (gradient) require_same_shape(op, "dz", dz, "z", z);
  if (gradient && !(divisor > 0.0)) {
    throw std::invalid_argument(std::string(op) + ": divisor is " + std::to_string(divisor) + ", expected > 0");
  }
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  if (contiguous(z) && contiguous(y) && (!gradient || contiguous(dz))) {
    return k.logistic_loss(z.data, y.data, dz.data, divisor, z.rows * z.cols);
  }
  double total = 0.0;
  for (std::size_t r = 0; r < z.rows; ++r) {
    total += k.logistic_loss(z.row(r), y.row(r), gradient ? dz.row(r) : nullptr, divisor, z.cols);
  }
  return total;
}

// ---- batch normalization ----------------------------------------------------------------------

namespace {

// The arguments every normalizing pass shares: x a valid view, y of its shape, and the four
// per-column parameters.
void check_normalization(const char* op, ConstMatrixView x, const float* mean, const float* inv_std,
                         const float* gamma, const float* beta, MatrixView y) {
  check_view(op, "x", x);
  require_same_shape(op, "y", y, "x", x);
  for (const auto& [name, p] : {std::pair{"mean", mean}, {"inv_std", inv_std}, {"gamma", gamma}, {"beta", beta}}) {
    require_data(op, name, p, x.cols);
  }
}

// batchnorm_normalize, and with relu the ReLU after it in the same pass.
void normalize(const char* op, ConstMatrixView x, const float* mean, const float* inv_std, const float* gamma,
               const float* beta, MatrixView y, MatrixView xhat, bool relu) {
  check_normalization(op, x, mean, inv_std, gamma, beta, y);
  if (xhat.data != nullptr) {
    require_same_shape(op, "xhat", xhat, "x", x);
    if (xhat.data == y.data) throw std::invalid_argument(std::string(op) + ": xhat and y are the same matrix");
  }
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  for_row_tiles(x.rows, x.cols, [&](std::size_t r0, std::size_t r1) {
    k.batchnorm_forward(x.row(r0), x.ld, r1 - r0, x.cols, mean, inv_std, gamma, beta,
                        xhat.data != nullptr ? xhat.row(r0) : nullptr, xhat.ld, y.row(r0), y.ld, relu);
  });
}

}  // namespace

void batchnorm_normalize(ConstMatrixView x, const float* mean, const float* inv_std,
                         const float* gamma, const float* beta, MatrixView y, MatrixView xhat) {
  normalize("batchnorm_normalize", x, mean, inv_std, gamma, beta, y, xhat, false);
}

void batchnorm_normalize_relu(ConstMatrixView x, const float* mean, const float* inv_std, const float* gamma,
                              const float* beta, MatrixView y) {
  normalize("batchnorm_normalize_relu", x, mean, inv_std, gamma, beta, y, {}, true);
}

void batchnorm_normalize_add_relu(ConstMatrixView x, const float* mean, const float* inv_std, const float* gamma,
                                  const float* beta, ConstMatrixView skip, MatrixView y) {
  constexpr const char* op = "batchnorm_normalize_add_relu";
  check_normalization(op, x, mean, inv_std, gamma, beta, y);
  require_same_shape(op, "skip", skip, "x", x);
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  for_row_tiles(x.rows, x.cols, [&](std::size_t r0, std::size_t r1) {
    k.batchnorm_forward_add_relu(x.row(r0), x.ld, skip.row(r0), skip.ld, r1 - r0, x.cols, mean, inv_std, gamma, beta,
                                 y.row(r0), y.ld);
  });
}

namespace {

// The backward pass with xhat read from h (mean null) or recomputed from x in h; through the ReLU
// after the BatchNorm when beta is not null.
void batchnorm_backward_of(ConstMatrixView dy, ConstMatrixView h, const float* mean, const float* gamma,
                           const float* beta, const float* inv_std, float* dgamma, float* dbeta, MatrixView dx) {
  const internal::DenormalScope denormals;
  const auto& k = kernels();
  const double m = static_cast<double>(dy.rows);
  const float* const relu_gamma = beta != nullptr ? gamma : nullptr;
  // The column sums of g and g·xhat; then the coefficients; then dx, row tiles in parallel.
  double* const totals = double_scratch(1, 2 * dy.cols);
  column_totals<2>(dy.rows, dy.cols, [&](std::size_t c0, std::size_t c1, std::size_t r0, std::size_t r1, auto& acc) {
    const auto at = [c0](const float* p) { return p != nullptr ? p + c0 : nullptr; };
    k.column_sums_and_dots(dy.row(r0) + c0, dy.ld, h.row(r0) + c0, h.ld, at(mean), inv_std + c0, at(relu_gamma),
                           at(beta), r1 - r0, c1 - c0, acc[0], acc[1]);
  }, totals);
  float* const scale = internal::thread_scratch<ElementwiseScratch, float, 1>(0, 3 * dy.cols);
  float* const mean_dy = scale + dy.cols;
  float* const mean_dot = mean_dy + dy.cols;
  for (std::size_t j = 0; j < dy.cols; ++j) {
    const double sum_dy = totals[j], sum_dot = totals[dy.cols + j];
    dbeta[j] += static_cast<float>(sum_dy);
    dgamma[j] += static_cast<float>(sum_dot);
    scale[j] = gamma[j] * inv_std[j];
    mean_dy[j] = static_cast<float>(sum_dy / m);
    mean_dot[j] = static_cast<float>(sum_dot / m);
  }
  for_row_tiles(dy.rows, dy.cols, [&](std::size_t r0, std::size_t r1) {
    k.batchnorm_backward(dy.row(r0), dy.ld, h.row(r0), h.ld, mean, inv_std, relu_gamma, beta, r1 - r0, dy.cols,
                         scale, mean_dy, mean_dot, dx.row(r0), dx.ld);
  });
}

void check_backward_arguments(ConstMatrixView dy, const char* h_name, ConstMatrixView h,
                              std::initializer_list<std::pair<const char*, const float*>> vectors, MatrixView dx,
                              const char* op = "batchnorm_backward") {
  check_view(op, "dy", dy);
  require_rows(op, "dy", dy);
  require_same_shape(op, h_name, h, "dy", dy);
  require_same_shape(op, "dx", dx, "dy", dy);
  for (const auto& [name, p] : vectors) require_data(op, name, p, dy.cols);
}

}  // namespace

void batchnorm_backward(ConstMatrixView dy, ConstMatrixView xhat, const float* gamma,
                        const float* inv_std, float* dgamma, float* dbeta, MatrixView dx) {
  check_backward_arguments(dy, "xhat", xhat,
                           {{"gamma", gamma}, {"inv_std", inv_std}, {"dgamma", dgamma}, {"dbeta", dbeta}}, dx);
  batchnorm_backward_of(dy, xhat, nullptr, gamma, nullptr, inv_std, dgamma, dbeta, dx);
}

void batchnorm_backward(ConstMatrixView dy, ConstMatrixView x, const float* mean, const float* gamma,
                        const float* inv_std, float* dgamma, float* dbeta, MatrixView dx) {
  check_backward_arguments(dy, "x", x,
                           {{"mean", mean}, {"gamma", gamma}, {"inv_std", inv_std}, {"dgamma", dgamma}, {"dbeta", dbeta}},
                           dx);
  batchnorm_backward_of(dy, x, mean, gamma, nullptr, inv_std, dgamma, dbeta, dx);
}

void batchnorm_relu_backward(ConstMatrixView dy, ConstMatrixView x, const float* mean, const float* gamma,
                             const float* beta, const float* inv_std, float* dgamma, float* dbeta, MatrixView dx) {
  check_backward_arguments(dy, "x", x,
                           {{"mean", mean},
                            {"gamma", gamma},
                            {"beta", beta},
                            {"inv_std", inv_std},
                            {"dgamma", dgamma},
                            {"dbeta", dbeta}},
                           dx, "batchnorm_relu_backward");
  batchnorm_backward_of(dy, x, mean, gamma, beta, inv_std, dgamma, dbeta, dx);
}

}  // namespace simdnn
