// ActivationLayer: y = f(x) elementwise, for any activation of core/activation.h, as a layer of
// its own (between a BatchNorm and the next Dense, say). Dense fuses its activation into the
// GEMM; use this layer only where nothing can fuse it.
//
// backward: dx = dy ⊙ f'(x), reading the kept input x and the output y (core/elementwise.h's
// activation_backward). The input is not copied (see layer.h). A ReLU after a BatchNorm in a
// Sequential, or inside a residual or dense block, is run by the BatchNorm
// (BatchNorm::forward_relu, infer_relu): its own forward, backward and infer are then skipped,
// so call its backward only after its own forward.
#pragma once

#include <span>

#include <simdnn/core/activation.h>
#include <simdnn/core/tensor.h>
#include <simdnn/layers/layer.h>

namespace simdnn {

class ActivationLayer : public Layer {
 public:
  // Throws std::invalid_argument if width is 0.
  ActivationLayer(std::size_t width, ActivationSpec activation);

  const char* kind() const override { return "activation"; }
  bool supports_gradient_chunks() const override { return true; }
  bool supports_concurrent_chunks() const override { return true; }
  ConstMatrixView begin_chunks(ConstMatrixView x, std::span<const std::size_t> ends) override;
  void forward_chunk(std::size_t c) override;
  ConstMatrixView begin_backward_chunks(ConstMatrixView dy) override;
  void backward_chunk(std::size_t c) override;
  void end_chunks() override {}
  std::size_t input_width() const override { return width_; }
  std::size_t output_width() const override { return width_; }

  ConstMatrixView forward(ConstMatrixView x, Mode mode) override;
  ConstMatrixView backward(ConstMatrixView dy) override;
  ConstMatrixView infer(ConstMatrixView x, InferenceBuffers& buffers) const override;

  ActivationSpec activation() const { return activation_; }

 private:
  std::size_t width_;
  ActivationSpec activation_;
  Tensor y_, dx_;
  ConstMatrixView x_{};
  ConstMatrixView dy_{};  // the output gradient of concurrent chunks
  bool trained_forward_ = false;
};

}  // namespace simdnn
