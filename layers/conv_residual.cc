#include <simdnn/layers/conv_residual.h>

#include <stdexcept>
#include <string>

#include <simdnn/layers/ops.h>

namespace simdnn {

namespace {

Conv2DOptions branch_conv(const ConvResidualOptions& o, std::size_t stride, std::size_t padding, std::uint64_t k) {
  return {.stride = stride, .padding = padding, .bias = false, .weight_init = o.weight_init, .seed = o.seed,
          .stream = substream(o.stream, k)};
}

ImageShape checked(ImageShape input, std::size_t out_channels, std::size_t stride) {
  if (out_channels == 0 || stride == 0) {
    throw std::invalid_argument("conv_residual: out_channels and stride must be positive, got " +
                                std::to_string(out_channels) + " and " + std::to_string(stride));
  }
  return input;
}

template <class L>
L& named(L& layer, const char* name) {
  layer.set_name(name);
  return layer;
}

}  // namespace

ConvResidualBlock::ConvResidualBlock(ImageShape input, std::size_t out_channels, std::size_t stride,
                                     const ConvResidualOptions& options)
    : conv1_(checked(input, out_channels, stride), out_channels, 3, branch_conv(options, stride, 1, 0)),
      bn1_(conv1_.output_shape(), options.batchnorm),
      act1_(conv1_.output_width(), options.activation),
      conv2_(conv1_.output_shape(), out_channels, 3, branch_conv(options, 1, 1, 1)),
      bn2_(conv2_.output_shape(), options.batchnorm),
      act_out_(conv2_.output_width(), options.activation) {
  named(conv1_, "conv1");
  named(bn1_, "bn1");
  named(act1_, "act1");
  named(conv2_, "conv2");
  named(bn2_, "bn2");
  named(act_out_, "act_out");
  if (conv2_.output_shape() != input) {
    projection_ = std::make_unique<Conv2D>(input, out_channels, 1, branch_conv(options, stride, 0, 3));
    projection_bn_ = std::make_unique<BatchNorm2D>(projection_->output_shape(), options.batchnorm);
    named(*projection_, "projection");
    named(*projection_bn_, "projection_bn");
  }
}

std::vector<Layer*> ConvResidualBlock::children() {
  std::vector<Layer*> c{&conv1_, &bn1_, &act1_, &conv2_, &bn2_};
  if (projection_) c.insert(c.end(), {projection_.get(), projection_bn_.get()});
  c.push_back(&act_out_);
  return c;
}

ConstMatrixView ConvResidualBlock::forward(ConstMatrixView x, Mode mode) {
  trained_forward_ = false;
  check_input(x);
  ConstMatrixView h = conv1_.forward(x, mode);
  h = relu_pair() ? bn1_.forward_relu(h, mode) : act1_.forward(bn1_.forward(h, mode), mode);
  h = conv2_.forward(h, mode);
  const ConstMatrixView skip = projection_ ? projection_bn_->forward(projection_->forward(x, mode), mode) : x;
  ConstMatrixView y;
  if (relu_out()) {
    y = bn2_.forward_add_relu(h, skip, mode);
  } else {
    h = bn2_.forward(h, mode);
    const MatrixView sum = reserve_rows(sum_, x.rows, output_width());
    internal::add_views(h, skip, sum);
    y = act_out_.forward(sum, mode);
  }
  if (mode == Mode::train) {
    rows_ = x.rows;
    if (relu_out()) y_ = y;
    trained_forward_ = true;
  }
  return y;
}

ConstMatrixView ConvResidualBlock::infer(ConstMatrixView x, InferenceBuffers& buffers) const {
  check_input(x);
  ConstMatrixView h = conv1_.infer(x, buffers);
  h = relu_pair() ? bn1_.infer_relu(h, buffers) : act1_.infer(bn1_.infer(h, buffers), buffers);
  h = conv2_.infer(h, buffers);
  const ConstMatrixView skip = projection_ ? projection_bn_->infer(projection_->infer(x, buffers), buffers) : x;
  if (relu_out()) return bn2_.infer_add_relu(h, skip, buffers);
  h = bn2_.infer(h, buffers);
  const MatrixView sum = buffers.next(x.rows, output_width());
  internal::add_views(h, skip, sum);
  return act_out_.infer(sum, buffers);
}

ConstMatrixView ConvResidualBlock::backward(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  check_output_grad(dy, rows_);
  ConstMatrixView ds;
  if (relu_out()) {  // the ReLU's gradient at the sum, read from y (positive exactly where the sum is)
    const MatrixView relu_grad = reserve_rows(ds_, rows_, output_width());
    activation_backward(ActivationSpec::relu(), y_, y_, dy, relu_grad);
    ds = relu_grad;
  } else {
    ds = act_out_.backward(dy);
  }
  ConstMatrixView g = bn2_.backward(ds);
  g = conv2_.backward(g);
  if (!relu_pair()) g = act1_.backward(g);
  g = bn1_.backward(g);  // through act1 too after forward_relu
  g = conv1_.backward(g);
  const ConstMatrixView dskip = projection_ ? projection_->backward(projection_bn_->backward(ds)) : ds;
  const MatrixView dx = reserve_rows(dx_, rows_, input_width());
  internal::add_views(g, dskip, dx);
  return dx;
}

}  // namespace simdnn
