// Dropout, inverted (Srivastava et al. 2014, as PyTorch does it): in train mode each input is
// zeroed with probability p and the survivors are scaled by 1/(1 − p), so E[y] = x and eval mode
// is the identity, with no rescaling at test time. (The notebook's text describes scaling at test
// time; its code, like this layer, scales at train time. Both give the same expectation; inverted
// dropout leaves inference untouched.) backward: dx = dy ⊙ mask, the mask of the last train-mode
// forward (0 or 1/(1 − p)).
//
// Masks are reproducible and differ from step to step: train-mode forward number t (t = step(),
// counted from 0 and advanced by every train-mode forward) draws its keep mask as
//   fill_bernoulli(mask, 1 − p, seed, substream(stream, t))                (core/random.h)
// so element (r, c) of step t depends only on (seed, stream, t, r·width + c), not on the thread
// count. The step is saved with the model (state tensor "step": the 64-bit counter's two 32-bit
// halves, low first, bit for bit in a 1x2 tensor), so a run resumed from a checkpoint draws the
// same masks as an uninterrupted one. set_step() restarts or resumes the sequence by hand;
// set_mask_for_testing() replaces it with a fixed mask. Eval mode and p = 0 copy x to the output.
// Sliced steps (Layer::begin_slice): every slice of step t draws with that t, its rows from
// first_row as rows first_row, first_row + 1, ... of the batch (fill_bernoulli_at), and the
// step advances at end_step(), so the slices' masks are exactly the whole batch's mask.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <simdnn/core/tensor.h>
#include <simdnn/layers/layer.h>

namespace simdnn {

struct DropoutOptions {
  std::uint64_t seed = 0;
  std::uint64_t stream = 0;  // give every dropout layer its own stream
};

class Dropout : public Layer {
 public:
  // Throws std::invalid_argument if width is 0 or p is not in [0, 1).
  Dropout(std::size_t width, float p, const DropoutOptions& options = {});

  const char* kind() const override { return "dropout"; }
  bool supports_gradient_chunks() const override { return true; }
  bool supports_concurrent_chunks() const override { return true; }
  ConstMatrixView begin_chunks(ConstMatrixView x, std::span<const std::size_t> ends) override;
  void forward_chunk(std::size_t c) override;
  ConstMatrixView begin_backward_chunks(ConstMatrixView dy) override;
  void backward_chunk(std::size_t c) override;
  void end_chunks() override {}
  std::size_t input_width() const override { return width_; }
  std::size_t output_width() const override { return width_; }

  ConstMatrixView forward(ConstMatrixView x, Mode mode) override;
  ConstMatrixView backward(ConstMatrixView dy) override;
  ConstMatrixView infer(ConstMatrixView x, InferenceBuffers& buffers) const override;

  float p() const { return p_; }
  std::uint64_t seed() const { return seed_; }
  std::uint64_t stream() const { return stream_; }
  // The number of the next train-mode forward (see above).
  std::uint64_t step() const;
  void set_step(std::uint64_t step);

  std::vector<StateTensor> state() override { return {{"step", &step_bits_}}; }
  void begin_slice(std::size_t first_row) override { slice_first_row_ = first_row; }
  void end_step() override;

  // From now on every train-mode forward keeps exactly the elements where `keep` is nonzero
  // (scaled by 1/(1 − p)) instead of drawing a mask. `keep` is the whole batch's mask: a forward
  // must have keep.rows() rows, and a slice's rows from first_row on must lie within it (else
  // ShapeError), so sliced, one-pass and data-parallel steps all drop the same elements. Throws
  // ShapeError unless keep has width() columns.
  void set_mask_for_testing(const Tensor& keep);
  void clear_mask_for_testing() { fixed_keep_ = Tensor(); }

  // The scaled mask (0 or 1/(1 − p); all 1 for p = 0) of the last train-mode forward, rows x width,
  // made on request: the layer keeps it as one byte per element (core/random.h, dropout_forward).
  Tensor mask() const;

 private:
  float keep_scale() const { return 1.0f / (1.0f - p_); }
  // The start of a train-mode forward of `rows` rows: checks a fixed mask's shape, advances the
  // step (unless sliced) and sizes the mask; returns the step whose mask it draws.
  std::uint64_t begin_train_forward(std::size_t rows, std::size_t cols);
  // Rows [begin, begin + x.rows) of that forward: x's rows into y's, the mask's rows drawn with
  // `step` (or taken from the fixed mask).
  void forward_rows(ConstMatrixView x, MatrixView y, std::size_t begin, std::uint64_t step);
  // Rows [begin, begin + dy.rows) of backward: dx = dy ⊙ mask.
  void backward_rows(ConstMatrixView dy, MatrixView dx, std::size_t begin) const;

  std::size_t width_;
  float p_;
  std::uint64_t seed_;
  std::uint64_t stream_;
  Tensor step_bits_ = Tensor(1, 2);  // the step counter, bit for bit (see above)
  Tensor fixed_keep_;
  std::vector<std::uint8_t> keep_;  // 1 where the last train-mode forward kept the element
  Tensor y_, dx_;
  std::size_t rows_ = 0;
  ConstMatrixView x_{}, dy_{};  // the input and output gradient of concurrent chunks
  std::uint64_t chunks_step_ = 0;  // the step the concurrent chunks draw with
  std::optional<std::size_t> slice_first_row_;  // set between begin_slice() and end_step()
  bool trained_forward_ = false;
};

}  // namespace simdnn
