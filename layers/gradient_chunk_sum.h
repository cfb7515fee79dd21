// GradientChunkSum: how a layer with parameters implements Layer::set_gradient_chunks. Its
// backward() hands the parameter-gradient part of its work to add(), which runs it once per
// chunk of rows into scratch tensors and adds the chunks' results to the grads in the canonical
// order of a step's chunks (core/pairwise_sum.h: ((c0 + c1) + (c2 + c3)) + ...). The products
// over the chunks' rows are the ones a sliced step computes, so the bits are its bits; the input
// gradient and the forward, which treat each row on its own, keep the whole batch's rows.
// Scratch is kept between calls (one tensor per parameter and tree level, each the parameter's
// size), so a warm step allocates nothing.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include <simdnn/core/tensor.h>
#include <simdnn/layers/layer.h>

namespace simdnn {

class GradientChunkSum {
 public:
  GradientChunkSum();
  ~GradientChunkSum();
  GradientChunkSum(GradientChunkSum&&) noexcept;
  GradientChunkSum& operator=(GradientChunkSum&&) noexcept;

  // Throws ShapeError naming `layer` unless ends is non-empty and ends.back() == rows, the
  // batch's rows (Layer::set_gradient_chunks has checked that the ends increase).
  static void check_ends(const Layer& layer, std::span<const std::size_t> ends, std::size_t rows);

  // grads[i] += the canonical sum over the chunks of part i, where chunk c is rows
  // [ends[c-1], ends[c]) (ends[-1] = 0) and add_chunk(begin, rows, parts) adds that chunk's
  // gradients into `parts` (zeroed tensors shaped like grads, in the same order), as backward()
  // adds them into zeroed grads. Checks the ends as check_ends() does.
  template <class AddChunk>
  void add(const Layer& layer, std::span<const std::size_t> ends, std::size_t rows,
           std::span<Tensor* const> grads, const AddChunk& add_chunk) {
    check_ends(layer, ends, rows);
    start(grads);
    for (std::size_t c = 0, begin = 0; c < ends.size(); begin = ends[c++]) {
      add_chunk(begin, ends[c] - begin, zeroed_parts());
      push_parts();
    }
    add_total(grads);
  }

  // The concurrent form (Layer::begin_chunks ... end_chunks): every chunk's gradients first,
  // side by side, then the same sum. start_chunks(grads, chunks), on one thread, keeps one set of
  // scratch tensors shaped like grads per chunk; chunk_parts(c) returns chunk c's set, holding
  // stale values for the caller to overwrite or zero (threads may call it for different chunks
  // at once); add_chunks(grads), on one thread,
  // adds the chunks' sum in the canonical order to grads, with add()'s bits. It runs on
  // num_threads() threads, over ranges of elements (each element's sum is the same arithmetic
  // in any range), and overwrites the scratch.
  void start_chunks(std::span<Tensor* const> grads, std::size_t chunks);
  std::span<Tensor* const> chunk_parts(std::size_t c);
  void add_chunks(std::span<Tensor* const> grads);

 private:
  struct Sum;
  void start(std::span<Tensor* const> grads);
  std::span<Tensor* const> zeroed_parts();
  void push_parts();
  void add_total(std::span<Tensor* const> grads);

  std::unique_ptr<Sum> sum_;
  std::vector<Tensor*> parts_;  // the chunk's parts, in the sum's scratch
};

}  // namespace simdnn
