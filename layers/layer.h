// Layer: the interface every building block of a network implements.
//
// Data layout: a batch is a row-major matrix with one sample per row (rows = batch size,
// cols = features). forward() returns a view of an output the layer owns and reuses: it stays
// valid until the layer's next forward() (or, for backward(), the next backward()). Buffers are
// kept between calls and only grow, so a training step allocates nothing once warm.
//
// Modes: Mode::train and Mode::eval are explicit arguments, never hidden state.
//  - Dropout: train zeroes each input with probability p and scales survivors by 1/(1−p)
//    (inverted dropout); eval is the identity.
//  - BatchNorm: train normalizes with the batch's mean and (biased) variance and updates the
//    running statistics; eval normalizes with the running statistics.
// backward() refers to the most recent train-mode forward(); calling it after an eval-mode
// forward (or none) throws std::logic_error.
//
// Gradients: backward(dy), given dL/dy, returns dL/dx and ADDS dL/dθ into each parameter's grad
// (so gradients of several batches or branches accumulate); zero_grad() clears them. backward()
// may be called again for the same forward (the gradients then add up once more).
// set_input_gradient(false) says that nobody reads dL/dx (a trainer says it of its model, whose
// input is the data): Dense and Conv2D then skip that product and backward() returns an empty
// view; a Sequential passes it to its first child; other layers (residual and dense blocks
// among them) compute dL/dx anyway. The parameter gradients are the same bits either way.
//
// Inputs are not copied: a layer keeps the view it was given in forward() and reads it again in
// backward(), so the caller must keep the input alive and unchanged until backward() returns
// (a network does: each layer's input is its predecessor's output buffer). Inputs and gradients
// may be strided views (ld > cols); the views forward() and backward() return are always
// contiguous (ld == cols); infer() may return its input itself (Dropout).
// A layer never writes to the input or the gradient it is given.
//
// Inference: infer(x, buffers) computes what forward(x, Mode::eval) returns, bit for bit, without
// changing the layer: its outputs and scratch live in the caller's InferenceBuffers. Any number of
// threads may call infer() on one layer at once, each with its own buffers, as long as nobody
// trains or loads the layer meanwhile. Once the buffers have grown to the largest batch, infer()
// allocates nothing.
//
// Errors: forward() and backward() throw ShapeError naming the layer ("dense \"fc1\": input is
// 32x10, expected 32x20 (input width 20)"); backward() without a train-mode forward() throws
// std::logic_error. Layers are not thread-safe; kernels inside them use simdnn's threads.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <simdnn/core/tensor.h>

namespace simdnn {

enum class Mode { train, eval };

// Scratch memory for Layer::infer(). Each pass through a network asks for the same sequence of
// buffers, so the i-th request since rewind() reuses the i-th buffer, reallocated (zero-filled)
// only when it has too few rows or another width: a second pass of the same network with no
// larger batch allocates nothing (one InferenceBuffers per network and thread, not shared). Views returned
// since the last rewind() stay valid until the next rewind(). Not thread-safe: one per thread.
class InferenceBuffers {
 public:
  // The next buffer, as a contiguous rows x cols view.
  MatrixView next(std::size_t rows, std::size_t cols);
  // Starts a new pass: the next request reuses the first buffer.
  void rewind() { next_ = 0; }

 private:
  std::vector<Tensor> buffers_;
  std::size_t next_ = 0;
};

// A trained tensor and its gradient, owned by the layer.
struct Parameter {
  std::string name;         // unique within its layer: "weight", "bias", "gamma", "beta"
  Tensor* value = nullptr;
  Tensor* grad = nullptr;   // same shape as value
  bool regularize = false;  // L1/L2 apply by default to weights only, not biases or γ/β
};

// State saved with a model but not trained (BatchNorm's running mean and variance).
struct StateTensor {
  std::string name;
  Tensor* value = nullptr;
};

class Layer {
 public:
  virtual ~Layer() = default;

  // The layer type, e.g. "dense", "batchnorm", "dropout", "residual", "sequential".
  virtual const char* kind() const = 0;
  // The instance name, unique within a model (used for saved files and error messages).
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

  virtual std::size_t input_width() const = 0;
  virtual std::size_t output_width() const = 0;

  // Throws ShapeError naming the layer if x.cols != input_width().
  virtual ConstMatrixView forward(ConstMatrixView x, Mode mode) = 0;
  // Throws ShapeError if dy is not (rows of the last forward) x output_width().
  virtual ConstMatrixView backward(ConstMatrixView dy) = 0;
  // forward(x, Mode::eval) without side effects (see "Inference" above). The returned view lies
  // in `buffers` or is x itself. Layers that do not implement it throw std::logic_error.
  virtual ConstMatrixView infer(ConstMatrixView x, InferenceBuffers& buffers) const;

  // This layer's own parameters (not its children's).
  virtual std::vector<Parameter> parameters() { return {}; }
  virtual std::vector<StateTensor> state() { return {}; }
  // Sub-layers of a container (Sequential, residual and dense blocks), in order.
  virtual std::vector<Layer*> children() { return {}; }

  // Sliced steps (train/trainer.h, TrainerOptions::gradient_chunks): the trainer may run one
  // step's batch through forward() and backward() as several row slices, on one process or on
  // several (dist/). begin_slice(first_row) says that the next train-mode forward() sees the rows
  // of the step's batch from first_row on; end_step() closes the step. In between, a layer that
  // draws random numbers draws them as for the whole batch (Dropout: by row of the batch, so the
  // slices' masks are the whole batch's mask), and a layer with running statistics adds each
  // slice's statistics into slice_statistics() instead of updating them. The trainer zeroes those
  // tensors before each slice and sums them over the slices (and the processes) like gradients;
  // end_step() then updates the running statistics once from the sums (BatchNorm). Layers
  // without such state keep these defaults. Containers pass the calls to their children (the
  // trainer walks children() itself), and a layer that hides a child (BatchNorm2D) forwards them.
  virtual void begin_slice(std::size_t /*first_row*/) {}
  virtual std::vector<Tensor*> slice_statistics() { return {}; }
  virtual void end_step() {}

  // Gradient chunks: the trainer's one-pass form of a sliced step. After set_gradient_chunks(ends),
  // backward() adds to each of this layer's own parameter grads not the batch's gradient but the
  // sum, in core/pairwise_sum.h's order, of the chunks' gradients: chunk i is rows
  // [ends[i-1], ends[i]) of the batch (ends[-1] = 0; the last end must be the batch's row count),
  // and its gradient is what backward() of those rows alone would add to zeroed grads. The call
  // concerns this layer only (the trainer sets every layer of all_layers()). An empty span
  // restores the plain backward. Throws std::invalid_argument unless the ends increase strictly
  // from above 0.
  // supports_gradient_chunks() says that the layer honours it and that its forward and input
  // gradient give each row the bits they give it in a batch of any other rows, so that one
  // forward and one backward of the whole batch reproduce the chunks run one by one and summed in
  // that order. The built-in layers say so, except BatchNorm and BatchNorm2D (each chunk needs its
  // own statistics); Dense and Conv2D sum their parameter gradients over the chunks
  // (GradientChunkSum, layers/gradient_chunk_sum.h, and core/gemm.h's gemm_depth_chunks). The
  // trainer slices the batch when any layer of the model does not. The trainer sets the chunks
  // for its one-pass steps and clears them after each; chunks set by hand stay set, in a plain
  // trainer step too, until cleared.
  void set_gradient_chunks(std::span<const std::size_t> ends);
  virtual bool supports_gradient_chunks() const { return false; }
  // Concurrent chunks: the same step as set_gradient_chunks(ends) + forward(x, Mode::train) +
  // backward(dy), with the chunks' rows run side by side (the trainer's chunked steps on several
  // threads). The bits are the same. The calls, in order:
  //   begin_chunks(x, ends)      one thread: checks x and the ends as forward() and
  //                              set_gradient_chunks() do, reserves the outputs and returns the
  //                              whole output view, rows x output_width() (its rows are written
  //                              by forward_chunk);
  //   forward_chunk(c)           chunk c's rows of the train-mode forward, for every c; different
  //                              chunks may run at once, on different threads;
  //   begin_backward_chunks(dy)  one thread: checks dy as backward() does and returns the view
  //                              dL/dx will fill (empty where input_gradient() is false); dy's
  //                              rows of a chunk must be written before its backward_chunk;
  //   backward_chunk(c)          chunk c's rows of dL/dx and its parameter gradients (into the
  //                              layer's own scratch), for every c, side by side again;
  //   end_chunks()               one thread: adds the chunks' parameter gradients, summed in
  //                              core/pairwise_sum.h's order, to the grads.
  // The layer's kernels run on the calling thread inside the chunk calls (the caller runs them
  // under internal::SerialScope, core/threading.h). supports_concurrent_chunks() says that the
  // layer implements them (the defaults throw std::logic_error): Dense, ActivationLayer, Dropout,
  // and a Sequential whose children all do. begin_slice() and end_step() apply as for a sliced
  // step (Dropout draws the whole batch's mask).
  virtual bool supports_concurrent_chunks() const { return false; }
  virtual ConstMatrixView begin_chunks(ConstMatrixView x, std::span<const std::size_t> ends);
  virtual void forward_chunk(std::size_t c);
  virtual ConstMatrixView begin_backward_chunks(ConstMatrixView dy);
  virtual void backward_chunk(std::size_t c);
  virtual void end_chunks();

  // Whether backward() must return dL/dx (see "Gradients" above); true unless set otherwise.
  void set_input_gradient(bool needed) { input_gradient_ = needed; }
  bool input_gradient() const { return input_gradient_; }

  // How messages name this layer: kind() and the quoted name, or kind() alone when unnamed.
  std::string label() const;

 protected:
  // The ends given to set_gradient_chunks(); empty for a plain backward.
  const std::vector<std::size_t>& gradient_chunk_ends() const { return gradient_chunk_ends_; }
  // For begin_chunks(): checks the ends (increasing from above 0, the last one `rows`; else
  // std::invalid_argument or ShapeError naming the layer) and keeps them for chunk().
  void keep_concurrent_chunks(std::span<const std::size_t> ends, std::size_t rows);
  // Chunk c of the ends kept: its first row and its row count. Throws std::out_of_range for a c
  // past them.
  struct ChunkRows {
    std::size_t begin, rows;
  };
  ChunkRows chunk(std::size_t c) const;
  std::size_t chunk_count() const { return concurrent_chunk_ends_.size(); }
  // Throws ShapeError (naming the layer, the expected and the actual shape) unless x is a valid
  // view with input_width() columns.
  void check_input(ConstMatrixView x) const;
  // Throws ShapeError unless dy is a valid rows x output_width() view.
  void check_output_grad(ConstMatrixView dy, std::size_t rows) const;
  // Throws std::logic_error: backward() without a train-mode forward().
  [[noreturn]] void throw_no_train_forward() const;

 private:
  std::string name_;
  bool input_gradient_ = true;
  std::vector<std::size_t> gradient_chunk_ends_;
  std::vector<std::size_t> concurrent_chunk_ends_;
};

// A stream for sub-consumer `index` of `stream`: a bijective mix (splitmix64's finalizer) of
// stream + (index + 1)·φ, φ = 0x9E3779B97F4A7C15. For a fixed stream, distinct indices give
// distinct streams, and they look unrelated to small stream numbers used elsewhere, so blocks
// can hand their sub-layers streams derived from their own (random.h: streams never overlap).
std::uint64_t substream(std::uint64_t stream, std::uint64_t index);

// Every parameter of `layer` and its descendants, depth first (a layer's own parameters before
// its children's), with names prefixed by the path of layer names below `layer`
// ("block1/dense2/weight"; `layer`'s own name is not part of the path, so the names are the same
// whatever the root is called). A child with an empty name appears as its kind() followed by its
// index among its parent's children ("dense0"); the containers here name their children, so
// that only happens for user-written layers.
std::vector<Parameter> all_parameters(Layer& layer);
// The same for state tensors ("bn1/running_mean").
std::vector<StateTensor> all_state(Layer& layer);
// The slice statistics of `layer` and its descendants, depth first (see Layer::begin_slice).
std::vector<Tensor*> all_slice_statistics(Layer& layer);
// `layer` and its descendants, depth first (a layer before its children).
std::vector<Layer*> all_layers(Layer& layer);
// Sets every gradient of `layer` and its descendants to zero.
void zero_grad(Layer& layer);

}  // namespace simdnn
