#include <simdnn/layers/batchnorm2d.h>

#include <simdnn/core/error.h>
#include <simdnn/layers/ops.h>

namespace simdnn {

namespace {

std::size_t checked_channels(ImageShape input) {
  WindowGeometry{input, 1, 1, 0}.check("batchnorm2d");
  return input.channels;
}

// v as pixel rows of `channels`: v itself when contiguous, else a copy into reserve(rows, cols).
template <class Reserve>
ConstMatrixView contiguous_pixels(ConstMatrixView v, std::size_t channels, const Reserve& reserve) {
  if (v.ld != v.cols) {
    const MatrixView copy = reserve(v.rows, v.cols);
    internal::copy_view(v, copy);
    v = copy;
  }
  return pixel_rows(v, channels);
}

}  // namespace

BatchNorm2D::BatchNorm2D(ImageShape input, const BatchNormOptions& options)
    : input_(input), norm_(checked_channels(input), options) {}

ConstMatrixView BatchNorm2D::pixels(ConstMatrixView v, Tensor& buffer) const {
  return contiguous_pixels(v, input_.channels,
                           [&](std::size_t rows, std::size_t cols) { return reserve_rows(buffer, rows, cols); });
}

ConstMatrixView BatchNorm2D::pixels(ConstMatrixView v, InferenceBuffers& buffers) const {
  return contiguous_pixels(v, input_.channels,
                           [&](std::size_t rows, std::size_t cols) { return buffers.next(rows, cols); });
}

void BatchNorm2D::check_skip(const char* who, ConstMatrixView x, ConstMatrixView skip) const {
  if (!valid_view(skip)) check_view((label() + ": " + who).c_str(), "skip", skip);
  if (skip.rows != x.rows || skip.cols != x.cols) {
    throw ShapeError(label() + ": " + who + ": skip is " + shape_string(skip.rows, skip.cols) + ", expected " +
                     shape_string(x.rows, x.cols) + " (the shape of x)");
  }
}

ConstMatrixView BatchNorm2D::forward(ConstMatrixView x, Mode mode) { return forward(x, mode, false); }

ConstMatrixView BatchNorm2D::forward_relu(ConstMatrixView x, Mode mode) { return forward(x, mode, true); }

ConstMatrixView BatchNorm2D::forward(ConstMatrixView x, Mode mode, bool relu) {
  trained_forward_ = false;
  check_input(x);
  const ConstMatrixView pixel_view = pixels(x, x_copy_);
  const ConstMatrixView y = relu ? norm_.forward_relu(pixel_view, mode) : norm_.forward(pixel_view, mode);
  if (mode == Mode::train) rows_ = x.rows, trained_forward_ = true;
  return {y.data, x.rows, input_.size(), input_.size()};
}

void BatchNorm2D::check_pooling(const char* who, const MaxPool2D& pool) const {
  if (pool.geometry().input != input_) {
    throw ShapeError(label() + ": " + who + " needs a maxpool2d over " + to_string(input_) + ", got " + pool.label() +
                     " over " + to_string(pool.geometry().input));
  }
}

ConstMatrixView BatchNorm2D::forward_relu_max_pool(ConstMatrixView x, Mode mode, MaxPool2D& pool) {
  trained_forward_ = false;
  check_pooling("forward_relu_max_pool", pool);
  check_input(x);
  const ConstMatrixView pixel_view = pixels(x, x_copy_);
  const BatchNorm::Normalization n = norm_.prepare_forward(pixel_view, mode, true);
  const MaxPool2D::ReluNorm relu_norm{n.mean, n.inv_std, norm_.gamma().data(), norm_.beta().data()};
  const ConstMatrixView y = pool.forward({pixel_view.data, x.rows, input_.size(), input_.size()}, mode, &relu_norm);
  if (mode == Mode::train) rows_ = x.rows, trained_forward_ = true;
  return y;
}

ConstMatrixView BatchNorm2D::forward_add_relu(ConstMatrixView x, ConstMatrixView skip, Mode mode) {
  trained_forward_ = false;
  check_input(x);
  check_skip("forward_add_relu", x, skip);
  const ConstMatrixView pixel_view = pixels(x, x_copy_);
  const BatchNorm::Normalization n = norm_.prepare_forward(pixel_view, mode, false);
  const MatrixView y = reserve_rows(norm_.y_, pixel_view.rows, input_.channels);
  batchnorm_normalize_add_relu(pixel_view, n.mean, n.inv_std, norm_.gamma_.data(), norm_.beta_.data(),
                               pixels(skip, skip_copy_), y);
  if (mode == Mode::train) rows_ = x.rows, trained_forward_ = true;
  return {y.data, x.rows, input_.size(), input_.size()};
}

ConstMatrixView BatchNorm2D::infer(ConstMatrixView x, InferenceBuffers& buffers) const {
  return infer(x, buffers, false);
}

ConstMatrixView BatchNorm2D::infer_add_relu(ConstMatrixView x, ConstMatrixView skip, InferenceBuffers& buffers) const {
  check_input(x);
  check_skip("infer_add_relu", x, skip);
  float* const inv_std = buffers.next(1, input_.channels).data;
  norm_.running_inv_std(inv_std);
  const ConstMatrixView pixel_x = pixels(x, buffers);
  const ConstMatrixView pixel_skip = pixels(skip, buffers);
  const MatrixView y = buffers.next(x.rows, x.cols);
  batchnorm_normalize_add_relu(pixel_x, norm_.running_mean_.data(), inv_std, norm_.gamma_.data(), norm_.beta_.data(),
                               pixel_skip, pixel_rows(y, input_.channels));
  return y;
}

ConstMatrixView BatchNorm2D::infer_relu(ConstMatrixView x, InferenceBuffers& buffers) const {
  return infer(x, buffers, true);
}

ConstMatrixView BatchNorm2D::infer(ConstMatrixView x, InferenceBuffers& buffers, bool relu) const {
  check_input(x);
  const ConstMatrixView pixel_view = pixels(x, buffers);
  const ConstMatrixView y = relu ? norm_.infer_relu(pixel_view, buffers) : norm_.infer(pixel_view, buffers);
  return {y.data, x.rows, input_.size(), input_.size()};
}

ConstMatrixView BatchNorm2D::infer_relu_max_pool(ConstMatrixView x, InferenceBuffers& buffers,
                                                 const MaxPool2D& pool) const {
  check_pooling("infer_relu_max_pool", pool);
  check_input(x);
  float* const inv_std = buffers.next(1, input_.channels).data;
  norm_.running_inv_std(inv_std);
  const MatrixView y = buffers.next(x.rows, pool.output_width());
  batchnorm_relu_max_pool(pool.geometry(), x, norm_.running_mean_.data(), inv_std, norm_.gamma_.data(),
                          norm_.beta_.data(), y, {});
  return y;
}

ConstMatrixView BatchNorm2D::backward(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  check_output_grad(dy, rows_);
  const ConstMatrixView dx = norm_.backward(pixels(dy, dy_copy_));
  return {dx.data, rows_, input_.size(), input_.size()};
}

}  // namespace simdnn
