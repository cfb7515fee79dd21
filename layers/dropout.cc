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

ConstMatrixView Dropout::forward(ConstMatrixView x, Mode mode) {
  trained_forward_ = false;
  check_input(x);
  const std::size_t m = x.rows;
  const MatrixView y = reserve_rows(y_, m, width_);
  if (mode == Mode::eval) {
    internal::copy_view(x, y);
    return y;
  }
  const std::uint64_t step = this->step();
  if (!slice_first_row_) set_step(step + 1);
  rows_ = m;
  if (p_ > 0.0f) {
    if (keep_.size() < m * width_) keep_.resize(m * width_);  // grows to the largest batch, then stays
    const std::span<std::uint8_t> keep(keep_.data(), m * width_);
    if (!fixed_keep_.empty()) {
      // The whole batch's mask: a slice takes its rows from first_row on, as the drawn masks do.
      const std::size_t first = slice_first_row_.value_or(0);
      if (slice_first_row_ ? first + m > fixed_keep_.rows() : fixed_keep_.rows() != m) {
        throw ShapeError(label() + ": input is " + shape_string(m, x.cols) +
                         (slice_first_row_ ? " from batch row " + std::to_string(first) : std::string()) +
                         " but the test mask is " + shape_string(fixed_keep_.rows(), fixed_keep_.cols()));
      }
      const float* fixed = fixed_keep_.data() + first * width_;
      for (std::size_t i = 0; i < m * width_; ++i) keep[i] = fixed[i] != 0.0f ? 1 : 0;
      apply_dropout_mask(x, keep, keep_scale(), y);
    } else {
      const std::uint64_t first = slice_first_row_.value_or(0) * width_;
      dropout_forward(x, y, keep, first, 1.0f - p_, keep_scale(), seed_, substream(stream_, step));
    }
  } else {
    internal::copy_view(x, y);
  }
  trained_forward_ = true;
  return y;
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
  if (p_ > 0.0f) {
    apply_dropout_mask(dy, std::span<const std::uint8_t>(keep_.data(), rows_ * width_), keep_scale(), dx);
  } else {
    internal::copy_view(dy, dx);
  }
  return dx;
}

}  // namespace simdnn
