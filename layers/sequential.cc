#include <simdnn/layers/sequential.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <typeinfo>

#include <simdnn/core/error.h>
#include <simdnn/layers/activation_layer.h>
#include <simdnn/layers/batchnorm.h>
#include <simdnn/layers/batchnorm2d.h>
#include <simdnn/layers/dense.h>
#include <simdnn/layers/pooling.h>

namespace simdnn {

namespace {

// f(norm) when layer is a BatchNorm or a BatchNorm2D (exactly those types: a subclass may
// override forward), as that type; returns whether it was.
template <class F>
bool with_norm(Layer& layer, const F& f) {
  if (typeid(layer) == typeid(BatchNorm)) {
    f(static_cast<BatchNorm&>(layer));
    return true;
  }
  if (typeid(layer) == typeid(BatchNorm2D)) {
    f(static_cast<BatchNorm2D&>(layer));
    return true;
  }
  return false;
}

bool is_relu(const Layer& layer) {
  return typeid(layer) == typeid(ActivationLayer) &&
         static_cast<const ActivationLayer&>(layer).activation().kind == Activation::relu;
}

}  // namespace

MaxPool2D* Sequential::pooled_relu_pair(std::size_t i) const {
  if (i + 2 >= layers_.size() || typeid(*layers_[i]) != typeid(BatchNorm2D) || !is_relu(*layers_[i + 1]) ||
      typeid(*layers_[i + 2]) != typeid(MaxPool2D)) {
    return nullptr;
  }
  auto& pool = static_cast<MaxPool2D&>(*layers_[i + 2]);
  return pool.geometry().input == static_cast<const BatchNorm2D&>(*layers_[i]).input_shape() ? &pool : nullptr;
}

bool Sequential::relu_pair(std::size_t i) const {
  return i + 1 < layers_.size() && is_relu(*layers_[i + 1]) && with_norm(*layers_[i], [](auto&) {});
}

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
  if (!layers_.empty() && layers_.back()->name() != last_name_) {  // renamed after add()
    const auto it = names_.find(last_name_);
    if (it != names_.end() && it->second == layers_.size() - 1) names_.erase(it);
    last_name_ = layers_.back()->name();
    names_.emplace(last_name_, layers_.size() - 1);
  }
  if (layer->name().empty()) {
    const std::string base = std::string(layer->kind()) + std::to_string(layers_.size());
    std::string name = base;
    for (int suffix = 1; name_taken(name); ++suffix) name = base + "_" + std::to_string(suffix);
    layer->set_name(std::move(name));
  } else if (name_taken(layer->name())) {
    throw std::invalid_argument(label() + ": a layer named \"" + layer->name() + "\" is already in it");
  }
  std::string name = layer->name();
  layers_.push_back(std::move(layer));
  names_.emplace(name, layers_.size() - 1);
  last_name_ = std::move(name);
  return *layers_.back();
}

bool Sequential::name_taken(const std::string& name) {
  const auto it = names_.find(name);
  if (it == names_.end()) return false;
  if (layers_[it->second]->name() == name) return true;
  // A child renamed since it was added: look for the name among the current names (rare).
  names_.erase(it);
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    if (layers_[i]->name() == name) {
      names_.emplace(name, i);
      return true;
    }
  }
  return false;
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
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    if (MaxPool2D* const pool = pooled_relu_pair(i)) {
      h = static_cast<BatchNorm2D&>(*layers_[i]).forward_relu_max_pool(h, mode, *pool);
      i += 2;  // the ReLU and the pooling ran in the same pass
    } else if (relu_pair(i)) {
      with_norm(*layers_[i], [&](auto& norm) { h = norm.forward_relu(h, mode); });
      ++i;  // the ReLU ran in the same pass
    } else {
      h = layers_[i]->forward(h, mode);
    }
  }
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
  for (std::size_t i = 0; i < layers_.size(); ++i) {  // the fusions of forward, same bits
    if (const MaxPool2D* const pool = pooled_relu_pair(i)) {
      h = static_cast<const BatchNorm2D&>(*layers_[i]).infer_relu_max_pool(h, buffers, *pool);
      i += 2;
    } else if (relu_pair(i)) {
      with_norm(*layers_[i], [&](const auto& norm) { h = norm.infer_relu(h, buffers); });
      ++i;
    } else {
      h = layers_[i]->infer(h, buffers);
    }
  }
  return h;
}

// No child that supports concurrent chunks is a BatchNorm, so none of forward's fused pairs
// occurs here: each child runs on its own.
bool Sequential::supports_concurrent_chunks() const {
  return !layers_.empty() &&
         std::all_of(layers_.begin(), layers_.end(), [](const auto& l) { return l->supports_concurrent_chunks(); });
}

ConstMatrixView Sequential::begin_chunks(ConstMatrixView x, std::span<const std::size_t> ends) {
  trained_forward_ = false;
  if (layers_.empty()) throw std::logic_error(label() + ": begin_chunks() on an empty network");
  check_input(x);
  ConstMatrixView h = x;
  for (auto& l : layers_) h = l->begin_chunks(h, ends);
  rows_ = x.rows;
  trained_forward_ = true;
  return h;
}

void Sequential::forward_chunk(std::size_t c) {
  for (auto& l : layers_) l->forward_chunk(c);
}

ConstMatrixView Sequential::begin_backward_chunks(ConstMatrixView dy) {
  if (!trained_forward_) throw_no_train_forward();
  check_output_grad(dy, rows_);
  layers_.front()->set_input_gradient(input_gradient());
  fuse_dense_relu_backward(true);  // until end_chunks() (or end_step(), after an error)
  ConstMatrixView g = dy;
  for (std::size_t i = layers_.size(); i-- > 0;) g = layers_[i]->begin_backward_chunks(g);
  return g;
}

void Sequential::backward_chunk(std::size_t c) {
  for (std::size_t i = layers_.size(); i-- > 0;) layers_[i]->backward_chunk(c);
}

void Sequential::end_chunks() {
  fuse_dense_relu_backward(false);
  for (auto& l : layers_) l->end_chunks();
}

void Sequential::fuse_dense_relu_backward(bool on) {
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    auto* dense = dynamic_cast<Dense*>(layers_[i].get());
    if (dense == nullptr) continue;
    auto* before = i > 0 ? dynamic_cast<Dense*>(layers_[i - 1].get()) : nullptr;
    auto* after = i + 1 < layers_.size() ? dynamic_cast<Dense*>(layers_[i + 1].get()) : nullptr;
    dense->set_gate_input_gradient(on && before != nullptr && before->activation().kind == Activation::relu);
    dense->set_output_gradient_is_preactivation(on && after != nullptr && dense->activation().kind == Activation::relu);
  }
}

ConstMatrixView Sequential::backward(ConstMatrixView dy) { return backward(dy, {}); }

ConstMatrixView Sequential::backward(ConstMatrixView dy, const std::function<void(std::size_t child)>& after_child) {
  if (!trained_forward_) throw_no_train_forward();
  check_output_grad(dy, rows_);
  ConstMatrixView g = dy;
  layers_.front()->set_input_gradient(input_gradient());  // this input's gradient is the first child's
  struct Fusion {  // Dense pairs' fused ReLU backward, for this pass only (thrown or returned)
    Sequential& s;
    explicit Fusion(Sequential& seq) : s(seq) { s.fuse_dense_relu_backward(true); }
    ~Fusion() { s.fuse_dense_relu_backward(false); }
  } fusion(*this);
  for (std::size_t i = layers_.size(); i-- > 0;) {
    // A ReLU whose batch norm ran it in its last forward (not a child run on its own since, nor a
    // ReLU added since) is covered by that norm's backward.
    bool fused = false;
    if (i > 0 && relu_pair(i - 1)) with_norm(*layers_[i - 1], [&](auto& norm) { fused = norm.relu_fused(); });
    if (!fused) g = layers_[i]->backward(g);
    if (after_child) after_child(i);
  }
  return g;
}

}  // namespace simdnn
