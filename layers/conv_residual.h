// ConvResidualBlock: the residual block of He et al. (2016) on images, the form the notebook draws:
//
//   x ─> Conv3x3(stride) ─> BN ─> f ─> Conv3x3 ─> BN ─> (+) ─> f ─> y
//   └──────────── [Conv1x1(stride) ─> BN] ───────────────┘
//
// Images are NHWC rows (core/image.h). Both 3×3 convolutions pad by 1, so only the first one's
// stride changes the size: H_out = (H − 1)/stride + 1. The skip is x itself when the shape does
// not change; otherwise a projection, a 1×1 convolution with the same stride followed by
// BatchNorm2D (He et al.'s option B). No convolution has a bias: each is followed by a BatchNorm,
// whose β plays its part. backward sends dy through f, then through the branch and the skip, and
// returns the sum.
//
// Sub-layers, in children() order and with these names: "conv1", "bn1", "act1", "conv2", "bn2",
// "projection" and "projection_bn" (when the shape changes), "act_out". Weights are drawn with
// weight_init from (seed, substream(stream, k)), k = 0 for conv1, 1 for conv2, 3 for the projection.
// With ReLU as f, bn1 and act1 run as one pass each way and in infer() (BatchNorm2D::forward_relu,
// infer_relu), and so do bn2, the addition and act_out forward and in infer()
// (BatchNorm2D::forward_add_relu, infer_add_relu); the same bits. act_out's own forward and
// backward are then not called.
#pragma once

#include <memory>

#include <simdnn/layers/activation_layer.h>
#include <simdnn/layers/batchnorm2d.h>
#include <simdnn/layers/conv2d.h>

namespace simdnn {

struct ConvResidualOptions {
  ActivationSpec activation = ActivationSpec::relu();
  InitSpec weight_init = InitSpec::he_normal();
  std::uint64_t seed = 0;
  std::uint64_t stream = 0;
  BatchNormOptions batchnorm = {};
};

class ConvResidualBlock : public Layer {
 public:
  // Throws std::invalid_argument for a zero channel count or stride, or as the sub-layers do.
  ConvResidualBlock(ImageShape input, std::size_t out_channels, std::size_t stride = 1,
                    const ConvResidualOptions& options = {});

  const char* kind() const override { return "conv_residual"; }
  bool supports_gradient_chunks() const override { return true; }
  std::size_t input_width() const override { return conv1_.input_width(); }
  std::size_t output_width() const override { return conv2_.output_width(); }
  ImageShape input_shape() const { return conv1_.input_shape(); }
  ImageShape output_shape() const { return conv2_.output_shape(); }

  ConstMatrixView forward(ConstMatrixView x, Mode mode) override;
  ConstMatrixView backward(ConstMatrixView dy) override;
  ConstMatrixView infer(ConstMatrixView x, InferenceBuffers& buffers) const override;

  std::vector<Layer*> children() override;

  Conv2D& conv1() { return conv1_; }
  Conv2D& conv2() { return conv2_; }
  Conv2D* projection() { return projection_.get(); }  // nullptr when the shape is kept

 private:
  bool relu_pair() const { return act1_.activation().kind == Activation::relu; }
  // With ReLU as f, bn2, the addition and act_out run as one pass forward and in infer()
  // (BatchNorm2D::forward_add_relu; same bits), and backward takes the ReLU's gradient from y.
  bool relu_out() const { return act_out_.activation().kind == Activation::relu; }

  Conv2D conv1_;
  BatchNorm2D bn1_;
  ActivationLayer act1_;
  Conv2D conv2_;
  BatchNorm2D bn2_;
  std::unique_ptr<Conv2D> projection_;
  std::unique_ptr<BatchNorm2D> projection_bn_;
  ActivationLayer act_out_;
  Tensor sum_, ds_, dx_;
  // With relu_out(), the last train-mode output: a view of bn2_'s output buffer, valid until the
  // next forward (which clears trained_forward_ first); backward() reads the ReLU's mask from it.
  ConstMatrixView y_;
  std::size_t rows_ = 0;
  bool trained_forward_ = false;
};

}  // namespace simdnn
