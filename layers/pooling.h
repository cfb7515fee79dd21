// Pooling of images stored one per row in NHWC order (core/image.h): MaxPool2D and AvgPool2D over
// kernel × kernel windows, and GlobalAvgPool2D, which averages each channel over the whole image
// (N × H·W·C → N × C, the "flatten" before a ResNet's classifier). All are parameter-free and
// deterministic; backward passes route or spread dy as core/image.h states.
#pragma once

#include <cstdint>
#include <vector>

#include <simdnn/core/image.h>
#include <simdnn/layers/layer.h>

namespace simdnn {

// y = the maximum over each window (stride defaults to the kernel: non-overlapping windows, as
// PyTorch's MaxPool2d); padding never wins; a NaN in a window gives NaN. backward sends each
// output's gradient to the input it took (the first maximum in window order).
class MaxPool2D : public Layer {
 public:
  // stride 0 means stride = kernel. Throws std::invalid_argument as WindowGeometry::check does.
  MaxPool2D(ImageShape input, std::size_t kernel, std::size_t stride = 0, std::size_t padding = 0);

  const char* kind() const override { return "maxpool2d"; }
  bool supports_gradient_chunks() const override { return true; }
  std::size_t input_width() const override { return geometry_.input.size(); }
  std::size_t output_width() const override { return output_shape().size(); }
  ImageShape output_shape() const { return geometry_.output(geometry_.input.channels); }
  const WindowGeometry& geometry() const { return geometry_; }

  ConstMatrixView forward(ConstMatrixView x, Mode mode) override;
  ConstMatrixView backward(ConstMatrixView dy) override;
  ConstMatrixView infer(ConstMatrixView x, InferenceBuffers& buffers) const override;

 private:
  // A BatchNorm2D's per-channel normalization, applied with a ReLU before pooling.
  struct ReluNorm {
    const float *mean, *inv_std, *gamma, *beta;
  };
  // forward(x, mode), or with relu_norm forward(max(0, γ·(x − mean)·inv_std + β), mode) without
  // storing that argument (core/image.h's batchnorm_relu_max_pool): BatchNorm2D's pooling pass.
  ConstMatrixView forward(ConstMatrixView x, Mode mode, const ReluNorm* relu_norm);
  friend class BatchNorm2D;

  WindowGeometry geometry_;
  Tensor y_, dx_;
  std::vector<std::uint32_t> argmax_;  // of the last train-mode forward
  std::size_t rows_ = 0;
  bool trained_forward_ = false;
};

// y = the mean over each window, padding counted as zeros (PyTorch's AvgPool2d with
// count_include_pad = true); stride defaults to the kernel.
class AvgPool2D : public Layer {
 public:
  AvgPool2D(ImageShape input, std::size_t kernel, std::size_t stride = 0, std::size_t padding = 0);

  const char* kind() const override { return "avgpool2d"; }
  bool supports_gradient_chunks() const override { return true; }
  std::size_t input_width() const override { return geometry_.input.size(); }
  std::size_t output_width() const override { return output_shape().size(); }
  ImageShape output_shape() const { return geometry_.output(geometry_.input.channels); }
  const WindowGeometry& geometry() const { return geometry_; }

  ConstMatrixView forward(ConstMatrixView x, Mode mode) override;
  ConstMatrixView backward(ConstMatrixView dy) override;
  ConstMatrixView infer(ConstMatrixView x, InferenceBuffers& buffers) const override;

 private:
  WindowGeometry geometry_;
  Tensor y_, dx_;
  std::size_t rows_ = 0;
  bool trained_forward_ = false;
};

// y[n, c] = the mean of channel c over the image's H·W pixels.
class GlobalAvgPool2D : public Layer {
 public:
  // Throws std::invalid_argument unless every dimension of `input` is positive.
  explicit GlobalAvgPool2D(ImageShape input);

  const char* kind() const override { return "globalavgpool2d"; }
  bool supports_gradient_chunks() const override { return true; }
  std::size_t input_width() const override { return input_.size(); }
  std::size_t output_width() const override { return input_.channels; }
  ImageShape input_shape() const { return input_; }

  ConstMatrixView forward(ConstMatrixView x, Mode mode) override;
  ConstMatrixView backward(ConstMatrixView dy) override;
  ConstMatrixView infer(ConstMatrixView x, InferenceBuffers& buffers) const override;

 private:
  ImageShape input_;
  Tensor y_, dx_;
  std::size_t rows_ = 0;
  bool trained_forward_ = false;
};

}  // namespace simdnn
