// DenseBlock: a DenseNet block (Huang et al. 2017) for fully-connected networks.
//
// Layer i (i = 0 .. layers_count − 1) sees the concatenation of the block's input and the outputs
// of layers 0 .. i−1, in that order (width in + i·growth_rate), and computes
//   BN_i → f → Dense_i (growth_rate outputs, no activation)
// The block's output is the concatenation [x, out_0, ..., out_{L−1}], of width
// in + layers_count·growth_rate. The concatenation lives in one buffer, which every layer reads
// in place (a strided view of its first columns), so nothing is copied but each layer's output.
// backward walks the layers in reverse: the gradient of out_i is complete once the later layers
// have added theirs, and layer i's input gradient adds into the first in + i·growth_rate columns.
//
// Sub-layers, in children() order: "bn0", "act0", "dense0", "bn1", "act1", "dense1", ...
// Dense_i's weights are drawn with weight_init from (seed, substream(stream, i)).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <simdnn/core/activation.h>
#include <simdnn/core/initializers.h>
#include <simdnn/layers/activation_layer.h>
#include <simdnn/layers/batchnorm.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/layer.h>

namespace simdnn {

struct DenseBlockOptions {
  ActivationSpec activation = ActivationSpec::relu();
  InitSpec weight_init = InitSpec::he_normal();
  std::uint64_t seed = 0;
  std::uint64_t stream = 0;
  bool bias = true;  // of each Dense_i
  BatchNormOptions batchnorm = {};
};

class DenseBlock : public Layer {
 public:
  // Throws std::invalid_argument if in, growth_rate or layers_count is 0.
  DenseBlock(std::size_t in, std::size_t growth_rate, std::size_t layers_count,
             const DenseBlockOptions& options = {});

  const char* kind() const override { return "dense_block"; }
  bool supports_gradient_chunks() const override { return true; }
  std::size_t input_width() const override { return in_; }
  std::size_t output_width() const override { return in_ + layers_count() * growth_rate_; }

  ConstMatrixView forward(ConstMatrixView x, Mode mode) override;
  ConstMatrixView backward(ConstMatrixView dy) override;
  ConstMatrixView infer(ConstMatrixView x, InferenceBuffers& buffers) const override;

  std::vector<Layer*> children() override;

  std::size_t growth_rate() const { return growth_rate_; }
  std::size_t layers_count() const { return units_.size(); }
  BatchNorm& bn(std::size_t i) { return units_.at(i).bn; }
  Dense& dense(std::size_t i) { return units_.at(i).dense; }

 private:
  struct Unit {
    BatchNorm bn;
    ActivationLayer act;
    Dense dense;
    // With ReLU, bn and act run as one pass each way (BatchNorm::forward_relu, infer_relu; same
    // bits).
    bool relu_pair() const { return act.activation().kind == Activation::relu; }
  };
  std::size_t in_;
  std::size_t growth_rate_;
  std::vector<Unit> units_;
  Tensor cat_, dcat_, dx_;
  std::size_t rows_ = 0;
  bool trained_forward_ = false;
};

}  // namespace simdnn
