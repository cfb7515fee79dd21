#include <simdnn/layers/residual.h>

#include <stdexcept>

#include <simdnn/layers/ops.h>

namespace simdnn {

namespace {

DenseOptions branch_dense(const ResidualOptions& o, std::uint64_t k, bool bias) {
  return {.activation = ActivationSpec::identity(),
          .weight_init = o.weight_init,
          .seed = o.seed,
          .stream = substream(o.stream, k),
          .bias = bias};
}

std::size_t require_positive(std::size_t in, std::size_t hidden, std::size_t out) {
  if (in == 0 || hidden == 0 || out == 0) {
    throw std::invalid_argument("residual: widths must be positive, got in " +
                                std::to_string(in) + ", hidden " + std::to_string(hidden) +
                                ", out " + std::to_string(out));
  }
  return in;
}

template <class L>
L& named(L& layer, const char* name) {
  layer.set_name(name);
  return layer;
}

}  // namespace

ResidualBlock::ResidualBlock(std::size_t in, std::size_t hidden, std::size_t out,
                             const ResidualOptions& options)
    : dense1_(require_positive(in, hidden, out), hidden, branch_dense(options, 0, options.bias)),
      bn1_(hidden, options.batchnorm),
      act1_(hidden, options.activation),
      dense2_(hidden, out, branch_dense(options, 1, options.bias)),
      bn2_(out, options.batchnorm),
      act_out_(out, options.activation) {
  named(dense1_, "dense1");
  named(bn1_, "bn1");
  named(act1_, "act1");
  named(dense2_, "dense2");
  named(bn2_, "bn2");
  named(act_out_, "act_out");
  if (options.dropout != 0.0f) {
    dropout_ = std::make_unique<Dropout>(
        hidden, options.dropout,
        DropoutOptions{.seed = options.seed, .stream = substream(options.stream, 2)});
    named(*dropout_, "dropout");
  }
  if (in != out) {
    projection_ = std::make_unique<Dense>(in, out, branch_dense(options, 3, false));
    named(*projection_, "projection");
  }
}

std::vector<Layer*> ResidualBlock::children() {
  std::vector<Layer*> c{&dense1_, &bn1_, &act1_};
  if (dropout_) c.push_back(dropout_.get());
  c.insert(c.end(), {&dense2_, &bn2_});
  if (projection_) c.push_back(projection_.get());
  c.push_back(&act_out_);
  return c;
}

ConstMatrixView ResidualBlock::forward(ConstMatrixView x, Mode mode) {
  trained_forward_ = false;
  check_input(x);
  ConstMatrixView h = dense1_.forward(x, mode);
  h = relu_pair() ? bn1_.forward_relu(h, mode) : act1_.forward(bn1_.forward(h, mode), mode);
  if (dropout_) h = dropout_->forward(h, mode);
  h = dense2_.forward(h, mode);
  h = bn2_.forward(h, mode);
  const ConstMatrixView skip = projection_ ? projection_->forward(x, mode) : x;
  const MatrixView sum = reserve_rows(sum_, x.rows, output_width());
  internal::add_views(h, skip, sum);
  const ConstMatrixView y = act_out_.forward(sum, mode);
  if (mode == Mode::train) {
    rows_ = x.rows;
    trained_forward_ = true;
  }
  return y;
}

ConstMatrixView ResidualBlock::infer(ConstMatrixView x, InferenceBuffers& buffers) const {
  check_input(x);
  ConstMatrixView h = dense1_.infer(x, buffers);
  h = relu_pair() ? bn1_.infer_relu(h, buffers) : act1_.infer(bn1_.infer(h, buffers), buffers);
  if (dropout_) h = dropout_->infer(h, buffers);
  h = dense2_.infer(h, buffers);
  h = bn2_.infer(h, buffers);
  const ConstMatrixView skip = projection_ ? projection_->infer(x, buffers) : x;
  const MatrixView sum = buffers.next(x.rows, output_width());
  internal::add_views(h, skip, sum);
  return act_out_.infer(sum, buffers);
}

ConstMatrixView ResidualBlock::backward(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  check_output_grad(dy, rows_);
  const ConstMatrixView ds = act_out_.backward(dy);
  ConstMatrixView g = bn2_.backward(ds);
  g = dense2_.backward(g);
  if (dropout_) g = dropout_->backward(g);
  if (!relu_pair()) g = act1_.backward(g);
  g = bn1_.backward(g);  // through act1 too after forward_relu
  g = dense1_.backward(g);
  const ConstMatrixView dskip = projection_ ? projection_->backward(ds) : ds;
  const MatrixView dx = reserve_rows(dx_, rows_, input_width());
  internal::add_views(g, dskip, dx);
  return dx;
}

}  // namespace simdnn
