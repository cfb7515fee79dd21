// BatchNorm2D: batch normalization of each channel of NHWC images (core/image.h) over the batch
// and the pixels, as PyTorch's BatchNorm2d: the statistics of channel c run over all N·H·W
// values x[n, h, w, c]. In NHWC those are column c of the batch viewed as an N·H·W x C matrix of
// pixels, so this layer is BatchNorm (batchnorm.h: formulas, momentum, running statistics, the
// parameters "gamma" and "beta") applied to that view.
#pragma once

#include <simdnn/core/image.h>
#include <simdnn/layers/batchnorm.h>
#include <simdnn/layers/pooling.h>

namespace simdnn {

class BatchNorm2D : public Layer {
 public:
  // Throws std::invalid_argument unless every dimension of `input` is positive, or as BatchNorm.
  explicit BatchNorm2D(ImageShape input, const BatchNormOptions& options = {});

  const char* kind() const override { return "batchnorm2d"; }
  std::size_t input_width() const override { return input_.size(); }
  std::size_t output_width() const override { return input_.size(); }
  ImageShape input_shape() const { return input_; }

  ConstMatrixView forward(ConstMatrixView x, Mode mode) override;
  // max(0, forward(x, mode)) in the same pass (BatchNorm::forward_relu); backward() then takes
  // the gradient of the ReLU's output.
  ConstMatrixView forward_relu(ConstMatrixView x, Mode mode);
  bool relu_fused() const { return norm_.relu_fused(); }
  // pool.forward(forward_relu(x, mode), mode) without storing forward_relu's output (core/image.h's
  // batchnorm_relu_max_pool): the same bits, the same state for both layers' backward(), and this
  // layer's own output is not kept. Sequential runs BatchNorm2D → ReLU → MaxPool2D through it.
  // Throws ShapeError unless pool's input shape is this layer's.
  ConstMatrixView forward_relu_max_pool(ConstMatrixView x, Mode mode, MaxPool2D& pool);
  // max(0, forward(x, mode) + skip) in one pass (core/elementwise.h's batchnorm_normalize_add_relu):
  // a ConvResidualBlock's last norm, its shortcut and its ReLU, with the same bits as the three
  // steps. backward() then takes the gradient of the sum: the caller takes the ReLU's backward
  // (from the output: it is positive exactly where the sum is). Throws ShapeError unless skip has
  // x's shape.
  ConstMatrixView forward_add_relu(ConstMatrixView x, ConstMatrixView skip, Mode mode);
  ConstMatrixView backward(ConstMatrixView dy) override;
  ConstMatrixView infer(ConstMatrixView x, InferenceBuffers& buffers) const override;
  // The same fusions for inference: max(0, infer(x, buffers)) in one pass, and
  // pool.infer(infer_relu(x, buffers), buffers) in one pass per image (the normalized batch is not
  // stored). Same bits; the latter throws ShapeError unless pool's input shape is this layer's.
  ConstMatrixView infer_relu(ConstMatrixView x, InferenceBuffers& buffers) const;
  ConstMatrixView infer_relu_max_pool(ConstMatrixView x, InferenceBuffers& buffers, const MaxPool2D& pool) const;
  // max(0, infer(x, buffers) + skip) in one pass, as forward_add_relu.
  ConstMatrixView infer_add_relu(ConstMatrixView x, ConstMatrixView skip, InferenceBuffers& buffers) const;

  std::vector<Parameter> parameters() override { return norm_.parameters(); }
  std::vector<StateTensor> state() override { return norm_.state(); }
  void begin_slice(std::size_t first_row) override { norm_.begin_slice(first_row); }
  std::vector<Tensor*> slice_statistics() override { return norm_.slice_statistics(); }
  void end_step() override { norm_.end_step(); }
  // The per-channel BatchNorm over pixel rows (γ, β, running statistics: 1 x C).
  BatchNorm& channels() { return norm_; }

 private:
  ConstMatrixView forward(ConstMatrixView x, Mode mode, bool relu);
  ConstMatrixView infer(ConstMatrixView x, InferenceBuffers& buffers, bool relu) const;
  // Throws ShapeError naming `who` unless pool's input shape is this layer's.
  void check_pooling(const char* who, const MaxPool2D& pool) const;
  // v itself when contiguous, else a copy in `buffer`; as pixel rows.
  ConstMatrixView pixels(ConstMatrixView v, Tensor& buffer) const;
  // The same from `buffers` (infer).
  ConstMatrixView pixels(ConstMatrixView v, InferenceBuffers& buffers) const;
  // Throws ShapeError naming `who` unless skip is a valid view of x's shape.
  void check_skip(const char* who, ConstMatrixView x, ConstMatrixView skip) const;

  ImageShape input_;
  BatchNorm norm_;
  Tensor x_copy_, dy_copy_, skip_copy_;
  std::size_t rows_ = 0;  // of the last train-mode forward
  bool trained_forward_ = false;
};

}  // namespace simdnn
