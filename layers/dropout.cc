#include <simdnn/layers/dropout.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include <simdnn/core/elementwise.h>
#include <simdnn/core/random.h>
#include <simdnn/layers/ops.h>

namespace simdnn {

Dropout::Dropout(std::size_t width, float p, const DropoutOptions& options)
    : width_(width), p_(p), seed_(options.seed), stream_(options.stream) {
  if (width == 0) throw std::invalid_argument("dropout: width must be positive, got 0");
  if (!(p >= 0.0f && p < 1.0f)) {
    throw std::invalid_argument("dropout: p must be in [0, 1), got " + std::to_string(p));
  }
}

void Dropout::set_mask_for_testing(const Tensor& keep) {
  if (keep.cols() != width_ || keep.rows() == 0) {
    throw ShapeError(label() + ": test mask is " + shape_string(keep.rows(), keep.cols()) +
                     ", expected Nx" + std::to_string(width_) + " with N >= 1");
  }
  fixed_keep_ = keep.clone();
}

std::uint64_t Dropout::step() const {
  std::uint32_t halves[2];
  std::memcpy(halves, step_bits_.data(), sizeof(halves));
  return static_cast<std::uint64_t>(halves[1]) << 32 | halves[0];
}

void Dropout::set_step(std::uint64_t step) {
  const std::uint32_t halves[2] = {static_cast<std::uint32_t>(step), static_cast<std::uint32_t>(step >> 32)};
  std::memcpy(step_bits_.data(), halves, sizeof(halves));
}

// Eval-mode dropout is the identity: the input itself, no copy.
ConstMatrixView Dropout::infer(ConstMatrixView x, InferenceBuffers&) const {
  check_input(x);
  return x;
}

std::uint64_t Dropout::begin_train_forward(std::size_t m, std::size_t cols) {
  const std::size_t first = slice_first_row_.value_or(0);
  if (p_ > 0.0f && !fixed_keep_.empty() &&
      (slice_first_row_ ? first + m > fixed_keep_.rows() : fixed_keep_.rows() != m)) {
    // The whole batch's mask: a slice takes its rows from first_row on, as the drawn masks do.
    throw ShapeError(label() + ": input is " + shape_string(m, cols) +
                     (slice_first_row_ ? " from batch row " + std::to_string(first) : std::string()) +
                     " but the test mask is " + shape_string(fixed_keep_.rows(), fixed_keep_.cols()));
  }
  const std::uint64_t step = this->step();
  if (!slice_first_row_) set_step(step + 1);
  rows_ = m;
  if (p_ > 0.0f && keep_.size() < m * width_) keep_.resize(m * width_);  // grows to the largest batch, then stays
  return step;
}

void Dropout::forward_rows(ConstMatrixView x, MatrixView y, std::size_t begin, std::uint64_t step) {
  if (p_ == 0.0f) {
    internal::copy_view(x, y);
    return;
  }
  const std::size_t n = x.rows * width_;
  const std::span<std::uint8_t> keep(keep_.data() + begin * width_, n);
  const std::size_t batch_row = slice_first_row_.value_or(0) + begin;
  if (!fixed_keep_.empty()) {
    const float* fixed = fixed_keep_.data() + batch_row * width_;
    for (std::size_t i = 0; i < n; ++i) keep[i] = fixed[i] != 0.0f ? 1 : 0;
    apply_dropout_mask(x, keep, keep_scale(), y);
  } else {
    dropout_forward(x, y, keep, batch_row * width_, 1.0f - p_, keep_scale(), seed_, substream(stream_, step));
  }
}

void Dropout::backward_rows(ConstMatrixView dy, MatrixView dx, std::size_t begin) const {
  if (p_ > 0.0f) {
    apply_dropout_mask(dy, std::span<const std::uint8_t>(keep_.data() + begin * width_, dy.rows * width_),
                       keep_scale(), dx);
  } else {
    internal::copy_view(dy, dx);
  }
}

ConstMatrixView Dropout::forward(ConstMatrixView x, Mode mode) {
  trained_forward_ = false;
  check_input(x);
  const MatrixView y = reserve_rows(y_, x.rows, width_);
  if (mode == Mode::eval) {
    internal::copy_view(x, y);
    return y;
  }
  forward_rows(x, y, 0, begin_train_forward(x.rows, x.cols));
  trained_forward_ = true;
  return y;
}

ConstMatrixView Dropout::begin_chunks(ConstMatrixView x, std::span<const std::size_t> ends) {
  trained_forward_ = false;
  check_input(x);
  keep_concurrent_chunks(ends, x.rows);
  const MatrixView y = reserve_rows(y_, x.rows, width_);
  chunks_step_ = begin_train_forward(x.rows, x.cols);
  x_ = x;
  trained_forward_ = true;
  return y;
}

void Dropout::forward_chunk(std::size_t c) {
  const auto [begin, rows] = chunk(c);
  forward_rows(ConstMatrixView{x_.row(begin), rows, width_, x_.ld},
               MatrixView{y_.data() + begin * width_, rows, width_, width_}, begin, chunks_step_);
}

ConstMatrixView Dropout::begin_backward_chunks(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  check_output_grad(dy, rows_);
  dy_ = dy;
  return reserve_rows(dx_, rows_, width_);
}

void Dropout::backward_chunk(std::size_t c) {
  const auto [begin, rows] = chunk(c);
  backward_rows(ConstMatrixView{dy_.row(begin), rows, width_, dy_.ld},
                MatrixView{dx_.data() + begin * width_, rows, width_, width_}, begin);
}

Tensor Dropout::mask() const {
  Tensor scaled(rows_, width_);
  const float value = p_ > 0.0f ? keep_scale() : 1.0f;
  for (std::size_t i = 0; i < rows_ * width_; ++i) scaled.data()[i] = p_ == 0.0f || keep_[i] != 0 ? value : 0.0f;
  return scaled;
}

void Dropout::end_step() {
  if (!slice_first_row_) return;
  slice_first_row_.reset();
  set_step(step() + 1);
}

ConstMatrixView Dropout::backward(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  check_output_grad(dy, rows_);
  const MatrixView dx = reserve_rows(dx_, rows_, width_);
  backward_rows(dy, dx, 0);
  return dx;
}

}  // namespace simdnn
