#include <simdnn/layers/layer.h>

#include <algorithm>
#include <stdexcept>

#include <simdnn/core/error.h>
#include <simdnn/core/pairwise_sum.h>

namespace simdnn {

MatrixView InferenceBuffers::next(std::size_t rows, std::size_t cols) {
  if (next_ == buffers_.size()) buffers_.emplace_back();
  return reserve_rows(buffers_[next_++], rows, cols);
}

ConstMatrixView Layer::infer(ConstMatrixView, InferenceBuffers&) const {
  throw std::logic_error(label() + ": this layer does not implement infer() (const inference)");
}

std::string Layer::label() const {
  if (name_.empty()) return kind();
  return std::string(kind()) + " \"" + name_ + "\"";
}

// The checks build their messages only on failure (valid_view first): a steady-state step must
// not allocate.
void Layer::check_input(ConstMatrixView x) const {
  if (!valid_view(x)) check_view(label().c_str(), "input", x);
  if (x.cols != input_width()) {
    throw ShapeError(label() + ": input is " + shape_string(x.rows, x.cols) + ", expected " +
                     shape_string(x.rows, input_width()) + " (input width " +
                     std::to_string(input_width()) + ")");
  }
}

void Layer::check_output_grad(ConstMatrixView dy, std::size_t rows) const {
  if (!valid_view(dy)) check_view(label().c_str(), "output gradient", dy);
  if (dy.rows != rows || dy.cols != output_width()) {
    throw ShapeError(label() + ": output gradient is " + shape_string(dy.rows, dy.cols) +
                     ", expected " + shape_string(rows, output_width()) +
                     " (the shape of the last forward output)");
  }
}

void Layer::set_gradient_chunks(std::span<const std::size_t> ends) {
  internal::check_chunk_ends(ends, [&] { return label(); });
  gradient_chunk_ends_.assign(ends.begin(), ends.end());
}

namespace {
[[noreturn]] void throw_no_concurrent_chunks(const Layer& layer) {
  throw std::logic_error(layer.label() + ": concurrent chunks are not supported (supports_concurrent_chunks() is false)");
}
}  // namespace

ConstMatrixView Layer::begin_chunks(ConstMatrixView, std::span<const std::size_t>) { throw_no_concurrent_chunks(*this); }
void Layer::forward_chunk(std::size_t) { throw_no_concurrent_chunks(*this); }
ConstMatrixView Layer::begin_backward_chunks(ConstMatrixView) { throw_no_concurrent_chunks(*this); }
void Layer::backward_chunk(std::size_t) { throw_no_concurrent_chunks(*this); }
void Layer::end_chunks() { throw_no_concurrent_chunks(*this); }

void Layer::keep_concurrent_chunks(std::span<const std::size_t> ends, std::size_t rows) {
  internal::check_chunk_ends(ends, [&] { return label(); });
  if (ends.empty() || ends.back() != rows) {
    throw ShapeError(label() + ": the chunks end at row " + std::to_string(ends.empty() ? 0 : ends.back()) +
                     ", expected the batch's " + std::to_string(rows) + " rows");
  }
  concurrent_chunk_ends_.assign(ends.begin(), ends.end());
}

Layer::ChunkRows Layer::chunk(std::size_t c) const {
  if (c >= concurrent_chunk_ends_.size()) {
    throw std::out_of_range(label() + ": chunk " + std::to_string(c) + " of " +
                            std::to_string(concurrent_chunk_ends_.size()));
  }
  const std::size_t begin = c == 0 ? 0 : concurrent_chunk_ends_[c - 1];
  return {begin, concurrent_chunk_ends_[c] - begin};
}

void Layer::throw_no_train_forward() const {
  throw std::logic_error(label() +
                         ": backward() needs a train-mode forward() first (there was none, or "
                         "the last forward() was in eval mode)");
}

std::uint64_t substream(std::uint64_t stream, std::uint64_t index) {
  std::uint64_t z = stream + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

namespace {

std::string child_path(const std::string& prefix, Layer& child, std::size_t index) {
  const std::string name =
      child.name().empty() ? std::string(child.kind()) + std::to_string(index) : child.name();
  return prefix + name + "/";
}

void collect_parameters(Layer& layer, const std::string& prefix, std::vector<Parameter>& out) {
  for (Parameter p : layer.parameters()) {
    p.name = prefix + p.name;
    out.push_back(std::move(p));
  }
  const std::vector<Layer*> kids = layer.children();
  for (std::size_t i = 0; i < kids.size(); ++i) {
    collect_parameters(*kids[i], child_path(prefix, *kids[i], i), out);
  }
}

void collect_state(Layer& layer, const std::string& prefix, std::vector<StateTensor>& out) {
  for (StateTensor s : layer.state()) {
    s.name = prefix + s.name;
    out.push_back(std::move(s));
  }
  const std::vector<Layer*> kids = layer.children();
  for (std::size_t i = 0; i < kids.size(); ++i) {
    collect_state(*kids[i], child_path(prefix, *kids[i], i), out);
  }
}

}  // namespace

std::vector<Parameter> all_parameters(Layer& layer) {
  std::vector<Parameter> out;
  collect_parameters(layer, "", out);
  return out;
}

std::vector<StateTensor> all_state(Layer& layer) {
  std::vector<StateTensor> out;
  collect_state(layer, "", out);
  return out;
}

std::vector<Layer*> all_layers(Layer& layer) {
  std::vector<Layer*> out{&layer};
  for (Layer* child : layer.children()) {
    const std::vector<Layer*> below = all_layers(*child);
    out.insert(out.end(), below.begin(), below.end());
  }
  return out;
}

std::vector<Tensor*> all_slice_statistics(Layer& layer) {
  std::vector<Tensor*> out;
  for (Layer* l : all_layers(layer)) {
    const std::vector<Tensor*> own = l->slice_statistics();
    out.insert(out.end(), own.begin(), own.end());
  }
  return out;
}

void zero_grad(Layer& layer) {
  for (Layer* child : layer.children()) zero_grad(*child);
  for (const Parameter& p : layer.parameters()) {
    if (p.grad != nullptr && !p.grad->empty()) {
      std::fill(p.grad->data(), p.grad->data() + p.grad->size(), 0.0f);
    }
  }
}

}  // namespace simdnn
