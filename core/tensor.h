// Tensor: an owning, 64-byte-aligned, row-major float32 matrix; and MatrixView /
// ConstMatrixView: non-owning windows onto row-major storage with a leading dimension.
//
// Element (r, c) lives at data[r * ld + c], with ld >= cols. A Tensor's ld equals its cols.
// Nothing here copies implicitly: Tensor is move-only; clone() is the explicit copy.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <utility>

#include <simdnn/core/error.h>

namespace simdnn {

inline constexpr std::size_t kTensorAlignment = 64;  // one cache line, one AVX-512 vector

struct ConstMatrixView {
  const float* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t ld = 0;  // floats between the starts of consecutive rows

  const float* row(std::size_t r) const { return data + r * ld; }
  float operator()(std::size_t r, std::size_t c) const { return data[r * ld + c]; }
};

struct MatrixView {
  float* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t ld = 0;

  float* row(std::size_t r) const { return data + r * ld; }
  float& operator()(std::size_t r, std::size_t c) const { return data[r * ld + c]; }
  operator ConstMatrixView() const { return {data, rows, cols, ld}; }
};

// Throws ShapeError (see check_view).
[[noreturn]] void throw_bad_view(const char* operation, const char* argument, ConstMatrixView view);

// Whether ld >= cols and the view is non-null whenever it is non-empty: what check_view checks.
// A caller whose operation name costs an allocation (a layer's label) tests this first.
inline bool valid_view(ConstMatrixView view) {
  return view.ld >= view.cols && (view.data != nullptr || view.rows == 0 || view.cols == 0);
}

// Throws ShapeError unless valid_view(view). Inline: every kernel call checks its views, and a tiny
// GEMM's call went mostly into passing them.
inline void check_view(const char* operation, const char* argument, ConstMatrixView view) {
  if (!valid_view(view)) [[unlikely]] {
    throw_bad_view(operation, argument, view);
  }
}

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled rows x cols matrix.
  Tensor(std::size_t rows, std::size_t cols);

  // A moved-from Tensor is empty (0x0).
  Tensor(Tensor&& other) noexcept
      : rows_(std::exchange(other.rows_, 0)),
        cols_(std::exchange(other.cols_, 0)),
        data_(std::move(other.data_)) {}
  Tensor& operator=(Tensor&& other) noexcept {
    rows_ = std::exchange(other.rows_, 0);
    cols_ = std::exchange(other.cols_, 0);
    data_ = std::move(other.data_);
    return *this;
  }
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

  Tensor clone() const;

  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }
  std::size_t size() const { return rows_ * cols_; }
  bool empty() const { return size() == 0; }

  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  float& operator()(std::size_t r, std::size_t c) { return data_[r * cols_ + c]; }
  float operator()(std::size_t r, std::size_t c) const { return data_[r * cols_ + c]; }

  MatrixView view() { return {data(), rows_, cols_, cols_}; }
  ConstMatrixView view() const { return {data(), rows_, cols_, cols_}; }
  ConstMatrixView cview() const { return view(); }

  // Throws ShapeError naming `operation` and both shapes unless this is rows x cols.
  void require_shape(const char* operation, std::size_t rows, std::size_t cols) const;

 private:
  struct AlignedDelete {
    void operator()(float* p) const { ::operator delete[](p, std::align_val_t{kTensorAlignment}); }
  };
  std::size_t rows_ = 0;
  std::size_t cols_ = 0;
  std::unique_ptr<float[], AlignedDelete> data_;
};

// A view of the first `rows` rows of `buffer`, reallocating it (zero-filled) only when it has
// fewer rows than asked or a different width. Layers keep their outputs in such buffers, so a
// smaller last batch reuses the memory and steady-state training allocates nothing.
MatrixView reserve_rows(Tensor& buffer, std::size_t rows, std::size_t cols);

}  // namespace simdnn
