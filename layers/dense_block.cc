#include <simdnn/layers/dense_block.h>

#include <stdexcept>
#include <string>

#include <simdnn/layers/ops.h>

namespace simdnn {

DenseBlock::DenseBlock(std::size_t in, std::size_t growth_rate, std::size_t layers_count,
                       const DenseBlockOptions& options)
    : in_(in), growth_rate_(growth_rate) {
  if (in == 0 || growth_rate == 0 || layers_count == 0) {
    throw std::invalid_argument("dense_block: in, growth_rate and layers_count must be positive, "
                                "got " + std::to_string(in) + ", " + std::to_string(growth_rate) +
                                ", " + std::to_string(layers_count));
  }
  units_.reserve(layers_count);
  for (std::size_t i = 0; i < layers_count; ++i) {
    const std::size_t w = in + i * growth_rate;
    units_.push_back(Unit{BatchNorm(w, options.batchnorm), ActivationLayer(w, options.activation),
                          Dense(w, growth_rate,
                                {.activation = ActivationSpec::identity(),
                                 .weight_init = options.weight_init,
                                 .seed = options.seed,
                                 .stream = substream(options.stream, i),
                                 .bias = options.bias})});
    const std::string n = std::to_string(i);
    units_.back().bn.set_name("bn" + n);
    units_.back().act.set_name("act" + n);
    units_.back().dense.set_name("dense" + n);
  }
}

std::vector<Layer*> DenseBlock::children() {
  std::vector<Layer*> c;
  for (Unit& u : units_) c.insert(c.end(), {&u.bn, &u.act, &u.dense});
  return c;
}

ConstMatrixView DenseBlock::forward(ConstMatrixView x, Mode mode) {
  trained_forward_ = false;
  check_input(x);
  const std::size_t m = x.rows;
  const std::size_t total = output_width();
  const MatrixView cat = reserve_rows(cat_, m, total);
  internal::copy_view(x, MatrixView{cat.data, m, in_, total});
  for (std::size_t i = 0; i < units_.size(); ++i) {
    const std::size_t w = in_ + i * growth_rate_;
    Unit& u = units_[i];
    const ConstMatrixView in{cat.data, m, w, total};
    ConstMatrixView h = u.relu_pair() ? u.bn.forward_relu(in, mode) : u.act.forward(u.bn.forward(in, mode), mode);
    h = u.dense.forward(h, mode);
    internal::copy_view(h, MatrixView{cat.data + w, m, growth_rate_, total});
  }
  if (mode == Mode::train) {
    rows_ = m;
    trained_forward_ = true;
  }
  return cat;
}

ConstMatrixView DenseBlock::infer(ConstMatrixView x, InferenceBuffers& buffers) const {
  check_input(x);
  const std::size_t m = x.rows;
  const std::size_t total = output_width();
  const MatrixView cat = buffers.next(m, total);
  internal::copy_view(x, MatrixView{cat.data, m, in_, total});
  for (std::size_t i = 0; i < units_.size(); ++i) {
    const std::size_t w = in_ + i * growth_rate_;
    const Unit& u = units_[i];
    const ConstMatrixView in{cat.data, m, w, total};
    ConstMatrixView h = u.relu_pair() ? u.bn.infer_relu(in, buffers) : u.act.infer(u.bn.infer(in, buffers), buffers);
    h = u.dense.infer(h, buffers);
    internal::copy_view(h, MatrixView{cat.data + w, m, growth_rate_, total});
  }
  return cat;
}

ConstMatrixView DenseBlock::backward(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  check_output_grad(dy, rows_);
  const std::size_t m = rows_;
  const std::size_t total = output_width();
  const MatrixView dcat = reserve_rows(dcat_, m, total);
  internal::copy_view(dy, dcat);
  for (std::size_t i = units_.size(); i-- > 0;) {
    const std::size_t w = in_ + i * growth_rate_;
    Unit& u = units_[i];
    ConstMatrixView g = u.dense.backward(ConstMatrixView{dcat.data + w, m, growth_rate_, total});
    if (!u.relu_pair()) g = u.act.backward(g);
    g = u.bn.backward(g);  // through act too after forward_relu
    const MatrixView prefix{dcat.data, m, w, total};
    internal::add_views(prefix, g, prefix);
  }
  const MatrixView dx = reserve_rows(dx_, m, in_);
  internal::copy_view(ConstMatrixView{dcat.data, m, in_, total}, dx);
  return dx;
}

}  // namespace simdnn
