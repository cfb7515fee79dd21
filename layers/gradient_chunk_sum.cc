#include <simdnn/layers/gradient_chunk_sum.h>

#include <algorithm>
#include <string>
#include <vector>

#include <simdnn/core/elementwise.h>
#include <simdnn/core/error.h>
#include <simdnn/core/pairwise_sum.h>
#include <simdnn/core/parallel.h>

namespace simdnn {

struct GradientChunkSum::Sum {
  std::vector<Tensor> parts;  // a chunk's gradients, shaped like the grads
  internal::PairwiseSum<Tensor> tree;
  // The concurrent form's scratch: chunk c's gradients, and pointers to them.
  std::vector<std::vector<Tensor>> chunk_parts;
  std::vector<std::vector<Tensor*>> chunk_part_ptrs;
  std::vector<std::size_t> first_task;  // add_chunks: grads[i]'s ranges are tasks [first_task[i], [i + 1])
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

namespace {

// Floats of one element range of add_chunks: small enough for many ranges per tensor, large
// enough that a range's adds outweigh its task.
constexpr std::size_t kChunkSumRange = 8192;

// The sum of the `count` arrays v[0..count) (len floats each, overwritten) in PairwiseSum's order,
// each tree level's buffer one of the arrays themselves. Returns the array holding it. count <= 64.
float* pairwise_sum_in_place(float* const* v, std::size_t count, std::size_t len) {
  float* levels[8];  // pairwise_tree_levels(count) <= 8 for count <= 64
  internal::pairwise_tree_sum(
      count, false, [&](std::size_t i, std::size_t level, float) { levels[level] = v[i]; },
      [&](std::size_t lower, std::size_t upper) { add(levels[lower], levels[upper], levels[lower], len); });
  return levels[0];
}

}  // namespace

void GradientChunkSum::start_chunks(std::span<Tensor* const> grads, std::size_t chunks) {
  if (chunks == 0 || chunks > 64) {
    throw std::invalid_argument("GradientChunkSum: " + std::to_string(chunks) + " chunks, expected 1 to 64");
  }
  if (sum_ == nullptr) sum_ = std::make_unique<Sum>();
  Sum& s = *sum_;
  s.chunk_parts.resize(chunks);
  s.chunk_part_ptrs.resize(chunks);
  for (std::size_t c = 0; c < chunks; ++c) {
    s.chunk_parts[c].resize(grads.size());
    s.chunk_part_ptrs[c].resize(grads.size());
    for (std::size_t i = 0; i < grads.size(); ++i) {
      Tensor& part = s.chunk_parts[c][i];
      if (!internal::same_shape(part, *grads[i])) part = internal::zeroed_like(*grads[i]);
      s.chunk_part_ptrs[c][i] = &part;
    }
  }
}

std::span<Tensor* const> GradientChunkSum::chunk_parts(std::size_t c) { return sum_->chunk_part_ptrs.at(c); }

void GradientChunkSum::add_chunks(std::span<Tensor* const> grads) {
  Sum& s = *sum_;
  const std::size_t chunks = s.chunk_parts.size();
  std::vector<std::size_t>& first_task = s.first_task;
  first_task.assign(grads.size() + 1, 0);
  for (std::size_t i = 0; i < grads.size(); ++i) {
    first_task[i + 1] = first_task[i] + (grads[i]->size() + kChunkSumRange - 1) / kChunkSumRange;
  }
  internal::parallel_for_tiles(first_task.back(), [&](std::size_t task) {
    const std::size_t i = static_cast<std::size_t>(
        std::upper_bound(first_task.begin(), first_task.end(), task) - first_task.begin() - 1);
    const std::size_t begin = (task - first_task[i]) * kChunkSumRange;
    const std::size_t len = std::min(kChunkSumRange, grads[i]->size() - begin);
    float* ranges[64];
    for (std::size_t c = 0; c < chunks; ++c) ranges[c] = s.chunk_parts[c][i].data() + begin;
    const float* total = pairwise_sum_in_place(ranges, chunks, len);
    simdnn::add(grads[i]->data() + begin, total, grads[i]->data() + begin, len);
  });
}

}  // namespace simdnn
