#include <simdnn/layers/sequential.h>

#include <stdexcept>
#include <string>

#include <simdnn/core/error.h>

namespace simdnn {

Sequential::Sequential(std::vector<std::unique_ptr<Layer>> layers) {
  for (auto& layer : layers) add(std::move(layer));
}

Layer& Sequential::add(std::unique_ptr<Layer> layer) {
  if (layer == nullptr) throw std::invalid_argument(label() + ": add() was given a null layer");
  if (!layers_.empty() && layer->input_width() != output_width()) {
    throw ShapeError(label() + ": cannot add " + std::string(layer->kind()) + " \"" +
                     layer->name() + "\" with input width " +
                     std::to_string(layer->input_width()) + " after " +
                     layers_.back()->kind() + " \"" + layers_.back()->name() +
                     "\" with output width " + std::to_string(output_width()));
  }
  if (layer->name().empty()) {
    std::string name = std::string(layer->kind()) + std::to_string(layers_.size());
    for (int suffix = 1;; ++suffix) {
      bool taken = false;
      for (const auto& l : layers_) taken = taken || l->name() == name;
      if (!taken) break;
      name = std::string(layer->kind()) + std::to_string(layers_.size()) + "_" +
             std::to_string(suffix);
    }
    layer->set_name(std::move(name));
  } else {
    for (const auto& l : layers_) {
      if (l->name() == layer->name()) {
        throw std::invalid_argument(label() + ": a layer named \"" + layer->name() +
                                    "\" is already in it");
      }
    }
  }
  layers_.push_back(std::move(layer));
  return *layers_.back();
}

std::size_t Sequential::input_width() const {
  return layers_.empty() ? 0 : layers_.front()->input_width();
}

std::size_t Sequential::output_width() const {
  return layers_.empty() ? 0 : layers_.back()->output_width();
}

std::vector<Layer*> Sequential::children() {
  std::vector<Layer*> c;
  c.reserve(layers_.size());
  for (auto& l : layers_) c.push_back(l.get());
  return c;
}

ConstMatrixView Sequential::forward(ConstMatrixView x, Mode mode) {
  trained_forward_ = false;
  if (layers_.empty()) throw std::logic_error(label() + ": forward() on an empty network");
  check_input(x);
  ConstMatrixView h = x;
  for (auto& l : layers_) h = l->forward(h, mode);
  if (mode == Mode::train) {
    rows_ = x.rows;
    trained_forward_ = true;
  }
  return h;
}

ConstMatrixView Sequential::infer(ConstMatrixView x, InferenceBuffers& buffers) const {
  if (layers_.empty()) throw std::logic_error(label() + ": infer() on an empty network");
  check_input(x);
  ConstMatrixView h = x;
  for (const auto& l : layers_) h = l->infer(h, buffers);
  return h;
}

ConstMatrixView Sequential::backward(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  check_output_grad(dy, rows_);
  ConstMatrixView g = dy;
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) g = (*it)->backward(g);
  return g;
}

}  // namespace simdnn
