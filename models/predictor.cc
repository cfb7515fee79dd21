#include <simdnn/models/predictor.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include <simdnn/core/elementwise.h>
#include <simdnn/core/error.h>

namespace simdnn {
namespace {

void copy_rows(ConstMatrixView from, MatrixView to) {
  for (std::size_t r = 0; r < from.rows; ++r) std::memcpy(to.row(r), from.row(r), from.cols * sizeof(float));
}

Tensor copy_of(ConstMatrixView v) {
  Tensor t(v.rows, v.cols);
  copy_rows(v, t.view());
  return t;
}

}  // namespace

Predictor::Predictor(const Model& model, std::size_t batch_size) : model_(model), batch_size_(batch_size) {
  if (batch_size_ == 0) throw std::invalid_argument("Predictor: batch_size is 0, expected at least 1");
  model_.validate();
}

ConstMatrixView Predictor::predict(ConstMatrixView x) {
  check_view("predict", "x", x);
  if (x.cols != model_.input_width()) {
    throw ShapeError("predict: x is " + shape_string(x.rows, x.cols) + ", expected " +
                     std::to_string(model_.input_width()) + " columns (the model's input width)");
  }
  const std::size_t width = model_.output_width();
  const MatrixView out = reserve_rows(outputs_, x.rows, width);
  for (std::size_t begin = 0; begin < x.rows; begin += batch_size_) {
    const std::size_t rows = std::min(batch_size_, x.rows - begin);
    ConstMatrixView batch{x.row(begin), rows, x.cols, x.ld};
    if (model_.scaler) {
      const MatrixView scaled = reserve_rows(scaled_, rows, x.cols);
      copy_rows(batch, scaled);
      model_.scaler->transform_in_place(scaled);
      batch = scaled;
    }
    buffers_.rewind();
    const ConstMatrixView y = model_.network->infer(batch, buffers_);
    copy_rows(y, MatrixView{out.row(begin), rows, width, width});
  }
  return out;
}

ConstMatrixView Predictor::predict_proba(ConstMatrixView x) {
  if (model_.output == OutputKind::values) {
    throw std::logic_error("predict_proba: the model's outputs are values (regression), not class scores");
  }
  const ConstMatrixView z = predict(x);
  if (model_.output == OutputKind::class_logits) {
    const MatrixView p = reserve_rows(proba_, z.rows, z.cols);
    if (z.rows != 0) softmax_forward(z, p);
    return p;
  }
  // binary_logit: column 1 is σ(z), column 0 its complement.
  const MatrixView p = reserve_rows(proba_, z.rows, 2);
  if (z.rows != 0) {
    activation_forward(ActivationSpec::of(Activation::sigmoid), z, MatrixView{p.data + 1, z.rows, 1, 2});
    for (std::size_t r = 0; r < z.rows; ++r) p(r, 0) = 1.0f - p(r, 1);
  }
  return p;
}

std::span<const std::int32_t> Predictor::predict_classes(ConstMatrixView x) {
  if (model_.output == OutputKind::values) {
    throw std::logic_error("predict_classes: the model's outputs are values (regression), not class scores");
  }
  const ConstMatrixView z = predict(x);
  classes_.resize(z.rows);
  for (std::size_t r = 0; r < z.rows; ++r) {
    const float* row = z.row(r);
    classes_[r] = model_.output == OutputKind::binary_logit
                      ? static_cast<std::int32_t>(row[0] > 0.0f)
                      : static_cast<std::int32_t>(std::max_element(row, row + z.cols) - row);
  }
  return classes_;
}

Tensor predict(const Model& model, ConstMatrixView x, std::size_t batch_size) {
  Predictor p(model, batch_size);
  return copy_of(p.predict(x));
}

Tensor predict_proba(const Model& model, ConstMatrixView x, std::size_t batch_size) {
  Predictor p(model, batch_size);
  return copy_of(p.predict_proba(x));
}

std::vector<std::int32_t> predict_classes(const Model& model, ConstMatrixView x, std::size_t batch_size) {
  Predictor p(model, batch_size);
  const std::span<const std::int32_t> c = p.predict_classes(x);
  return {c.begin(), c.end()};
}

}  // namespace simdnn
