#include <simdnn/layers/gradient_chunk_sum.h>

#include <algorithm>
#include <string>
#include <vector>

#include <simdnn/core/error.h>
#include <simdnn/core/pairwise_sum.h>

namespace simdnn {

struct GradientChunkSum::Sum {
  std::vector<Tensor> parts;  // a chunk's gradients, shaped like the grads
  internal::PairwiseSum<Tensor> tree;
};

GradientChunkSum::GradientChunkSum() : sum_(std::make_unique<Sum>()) {}
GradientChunkSum::~GradientChunkSum() = default;
GradientChunkSum::GradientChunkSum(GradientChunkSum&&) noexcept = default;
GradientChunkSum& GradientChunkSum::operator=(GradientChunkSum&&) noexcept = default;

void GradientChunkSum::check_ends(const Layer& layer, std::span<const std::size_t> ends, std::size_t rows) {
  if (ends.empty() || ends.back() != rows) {
    throw ShapeError(layer.label() + ": the gradient chunks end at row " + std::to_string(ends.empty() ? 0 : ends.back()) +
                     ", expected the batch's " + std::to_string(rows) + " rows");
  }
}

void GradientChunkSum::start(std::span<Tensor* const> grads) {
  if (sum_ == nullptr) sum_ = std::make_unique<Sum>();  // a moved-from sum is used again
  Sum& s = *sum_;
  s.parts.resize(grads.size());
  parts_.resize(grads.size());
  for (std::size_t i = 0; i < grads.size(); ++i) {
    if (!internal::same_shape(s.parts[i], *grads[i])) s.parts[i] = internal::zeroed_like(*grads[i]);
    parts_[i] = &s.parts[i];
  }
  s.tree.reset();
}

std::span<Tensor* const> GradientChunkSum::zeroed_parts() {
  for (Tensor* t : parts_) std::fill(t->data(), t->data() + t->size(), 0.0f);
  return parts_;
}

// PairwiseSum swaps the parts' storage into its tree and hands back buffers of the same shapes.
void GradientChunkSum::push_parts() { sum_->tree.push(std::span<Tensor* const>(parts_)); }

void GradientChunkSum::add_total(std::span<Tensor* const> grads) {
  std::vector<Tensor>& total = sum_->tree.result();
  for (std::size_t i = 0; i < grads.size(); ++i) internal::add_parts(*grads[i], total[i]);
}

}  // namespace simdnn
