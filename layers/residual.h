// ResidualBlock: the fully-connected residual block of He et al. (2016), as in the notebook:
//
//   x ─> Dense1 ─> BN1 ─> f ─> [Dropout] ─> Dense2 ─> BN2 ─> (+) ─> f ─> y
//   └──────────────────── [projection] ─────────────────────┘
//
// Dense1 is in x hidden and Dense2 hidden x out, both without activation (BN follows). The skip
// is x itself when in == out; otherwise a projection Dense (in x out, no activation, NO bias: a
// bias there would only add a per-feature constant that BN2's β already provides). f is
// `activation` (ReLU by default). backward sends dy through f, then both through the branch and
// the skip, and returns their sum.
//
// Sub-layers, in children() order and with these names: "dense1", "bn1", "act1", "dropout" (when
// dropout > 0), "dense2", "bn2", "projection" (when in != out), "act_out". Their weights are drawn
// with weight_init from (seed, substream(stream, k)), k = 0 for dense1, 1 for dense2, 2 for the
// dropout masks, 3 for the projection.
#pragma once

#include <cstdint>
#include <memory>

#include <simdnn/core/activation.h>
#include <simdnn/core/initializers.h>
#include <simdnn/layers/activation_layer.h>
#include <simdnn/layers/batchnorm.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/dropout.h>
#include <simdnn/layers/layer.h>

namespace simdnn {

struct ResidualOptions {
  ActivationSpec activation = ActivationSpec::relu();
  float dropout = 0.0f;  // p of the Dropout after the first activation; 0 for none
  InitSpec weight_init = InitSpec::he_normal();
  std::uint64_t seed = 0;
  std::uint64_t stream = 0;
  // Biases of dense1 and dense2 (the notebook has them; BN makes them redundant, their gradient
  // is zero up to rounding). false drops them.
  bool bias = true;
  BatchNormOptions batchnorm = {};
};

class ResidualBlock : public Layer {
 public:
  // The notebook's ResidualBlock(n, hidden) is ResidualBlock(n, hidden, n). Throws
  // std::invalid_argument for a zero width or as the sub-layers do.
  ResidualBlock(std::size_t in, std::size_t hidden, std::size_t out,
                const ResidualOptions& options = {});

  const char* kind() const override { return "residual"; }
  bool supports_gradient_chunks() const override { return true; }
  std::size_t input_width() const override { return dense1_.input_width(); }
  std::size_t output_width() const override { return dense2_.output_width(); }

  ConstMatrixView forward(ConstMatrixView x, Mode mode) override;
  ConstMatrixView backward(ConstMatrixView dy) override;
  ConstMatrixView infer(ConstMatrixView x, InferenceBuffers& buffers) const override;

  std::vector<Layer*> children() override;

  Dense& dense1() { return dense1_; }
  BatchNorm& bn1() { return bn1_; }
  Dropout* dropout() { return dropout_.get(); }  // nullptr without dropout
  Dense& dense2() { return dense2_; }
  BatchNorm& bn2() { return bn2_; }
  Dense* projection() { return projection_.get(); }  // nullptr when in == out

 private:
  // With ReLU as the activation, bn1 and act1 run as one pass each way (BatchNorm::forward_relu,
  // infer_relu; same bits).
  bool relu_pair() const { return act1_.activation().kind == Activation::relu; }

  Dense dense1_;
  BatchNorm bn1_;
  ActivationLayer act1_;
  std::unique_ptr<Dropout> dropout_;
  Dense dense2_;
  BatchNorm bn2_;
  std::unique_ptr<Dense> projection_;
  ActivationLayer act_out_;
  Tensor sum_, dx_;
  std::size_t rows_ = 0;
  bool trained_forward_ = false;
};

}  // namespace simdnn
