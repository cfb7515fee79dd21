#include <simdnn/core/tensor.h>

#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

namespace simdnn {

void throw_bad_view(const char* operation, const char* argument, ConstMatrixView view) {
  if (view.ld < view.cols) {
    throw ShapeError(std::string(operation) + ": " + argument + " has leading dimension " +
                     std::to_string(view.ld) + " smaller than its " + std::to_string(view.cols) +
                     " columns");
  }
  if (view.data == nullptr && view.rows != 0 && view.cols != 0) {
    throw ShapeError(std::string(operation) + ": " + argument + " is a null " +
                     shape_string(view.rows, view.cols) + " view");
  }
  throw std::logic_error(std::string(operation) + ": " + argument + " was reported bad but is valid");
}

Tensor::Tensor(std::size_t rows, std::size_t cols) : rows_(rows), cols_(cols) {
  if (cols != 0 && rows > std::numeric_limits<std::size_t>::max() / sizeof(float) / cols) {
    throw ShapeError("Tensor: " + shape_string(rows, cols) + " does not fit in memory");
  }
  if (size() == 0) return;
  // Round the allocation up to whole cache lines so vector kernels may read the padded tail.
  const std::size_t bytes =
      (size() * sizeof(float) + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  data_.reset(static_cast<float*>(::operator new[](bytes, std::align_val_t{kTensorAlignment})));
  std::memset(data_.get(), 0, bytes);
}

Tensor Tensor::clone() const {
  Tensor copy(rows_, cols_);
  if (size() != 0) std::memcpy(copy.data(), data(), size() * sizeof(float));
  return copy;
}

void Tensor::require_shape(const char* operation, std::size_t rows, std::size_t cols) const {
  if (rows != rows_ || cols != cols_) {
    throw ShapeError(std::string(operation) + ": expected a " + shape_string(rows, cols) +
                     " tensor, got " + shape_string(rows_, cols_));
  }
}

MatrixView reserve_rows(Tensor& buffer, std::size_t rows, std::size_t cols) {
  if (buffer.rows() < rows || buffer.cols() != cols) buffer = Tensor(rows, cols);
  return {buffer.data(), rows, cols, cols};
}

}  // namespace simdnn
