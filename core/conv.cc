#include <simdnn/core/conv.h>

#include <algorithm>
#include <string>
#include <vector>

#include <simdnn/core/conv_kernels.h>
#include <simdnn/core/elementwise.h>
#include <simdnn/core/error.h>
#include <simdnn/core/gemm.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/kernels/dispatch.h>
#include <simdnn/core/parallel.h>

namespace simdnn {

namespace internal {

const ConvKernels& conv_kernels(Isa isa) {
  return kernel_table<ConvKernels>("conv_kernels", isa, []<class Arch>() { return make_conv_kernels<Arch>(); });
}

}  // namespace internal

namespace {

bool pointwise(const WindowGeometry& g, ConstMatrixView x) {
  return g.kernel == 1 && g.stride == 1 && g.padding == 0 && x.ld == x.cols;
}

template <class View>
View image_rows(View m, std::size_t begin, std::size_t rows) {
  return {m.row(begin), rows, m.cols, m.ld};
}

// Throws ShapeError "who: what()" unless ok; the message is only built on failure (these checks
// run on every training step, which allocates nothing).
template <class Message>
void require(bool ok, const char* who, const Message& what) {
  if (!ok) throw ShapeError(std::string(who) + ": " + what());
}

void check_shapes(const char* who, const WindowGeometry& g, ConstMatrixView x, ConstMatrixView w,
                  ConstMatrixView y_or_dy) {
  g.check(who);
  check_view(who, "x", x);
  check_view(who, "w", w);
  const std::size_t window = g.kernel * g.kernel * g.input.channels;
  require(x.cols == g.input.size(), who, [&] {
    return "x is " + shape_string(x.rows, x.cols) + ", expected " + std::to_string(g.input.size()) + " columns";
  });
  require(w.rows == window && w.cols > 0, who, [&] {
    return "w is " + shape_string(w.rows, w.cols) + ", expected " + std::to_string(window) + " rows";
  });
  require(y_or_dy.rows == x.rows && y_or_dy.cols == g.out_pixels() * w.cols && y_or_dy.ld == y_or_dy.cols, who, [&] {
    return "the output (or its gradient) is " + shape_string(y_or_dy.rows, y_or_dy.cols) + " with ld " +
           std::to_string(y_or_dy.ld) + ", expected a contiguous " + shape_string(x.rows, g.out_pixels() * w.cols);
  });
}

// This thread's scratch number `slot` of at least `floats` floats (thread_local: steady state
// allocates nothing). Safe across parallel_for_tiles: while a thread waits inside a nested loop
// it runs only that loop's tiles (core/parallel.h), never another chunk. Slots 0 and 1 serve the
// chunks, 2 and 3 the calling thread's packed weights and weight-gradient partials (the tiles
// reach those through pointers taken by the calling thread: inside a tile the name would be the
// running thread's own buffer).
float* scratch(std::size_t slot, std::size_t floats) {
  thread_local std::vector<float> buffers[4];
  std::vector<float>& b = buffers[slot];
  if (b.size() < floats) b.resize(floats);
  return b.data();
}

std::size_t chunk_count(std::size_t images, std::size_t chunk) { return (images + chunk - 1) / chunk; }

std::size_t round_up(std::size_t n, std::size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

const internal::ConvKernels& kernels() { return internal::conv_kernels(active_isa()); }

// Images [begin, begin + count) of x (shape s) zero-padded by `pad` on every side into `out`,
// back to back: (height + 2·pad)·(width + 2·pad)·channels floats each.
void pad_images(ConstMatrixView x, const ImageShape& s, std::size_t pad, std::size_t begin, std::size_t count,
                float* out) {
  const std::size_t row = s.width * s.channels, border = pad * s.channels, padded_row = row + 2 * border;
  for (std::size_t n = begin; n < begin + count; ++n) {
    std::fill_n(out, pad * padded_row, 0.0f);
    out += pad * padded_row;
    for (std::size_t h = 0; h < s.height; ++h, out += padded_row) {
      std::fill_n(out, border, 0.0f);
      std::copy_n(x.row(n) + h * row, row, out + border);
      std::fill_n(out + border + row, border, 0.0f);
    }
    std::fill_n(out, pad * padded_row, 0.0f);
    out += pad * padded_row;
  }
}

// The window over `count` images of shape s padded by `pad` at `x`, for the output of geometry
// (kernel, stride) with out_h × out_w pixels.
internal::ConvWindow window(const float* x, const ImageShape& s, std::size_t pad, std::size_t kernel,
                            std::size_t stride, std::size_t out_h, std::size_t out_w, std::size_t count) {
  const std::size_t padded_width = s.width + 2 * pad;
  return {.x = x,
          .image_floats = (s.height + 2 * pad) * padded_width * s.channels,
          .padded_width = padded_width,
          .channels = s.channels,
          .kernel = kernel,
          .stride = stride,
          .out_height = out_h,
          .out_width = out_w,
          .first_pixel = 0,
          .pixels = count * out_h * out_w};
}

std::size_t padded_floats(const ImageShape& s, std::size_t pad) {
  return (s.height + 2 * pad) * (s.width + 2 * pad) * s.channels;
}

// w (rows × cols) with its rows widened to `ld` floats, zeros after col `cols`, into `out`; or w
// itself when it already has that layout.
const float* widened(ConstMatrixView w, std::size_t ld, float* out) {
  if (w.ld == ld) return w.data;
  for (std::size_t r = 0; r < w.rows; ++r) {
    std::copy_n(w.row(r), w.cols, out + r * ld);
    std::fill(out + r * ld + w.cols, out + (r + 1) * ld, 0.0f);
  }
  return out;
}

// The weights of dx as a convolution of dy (stride 1): tap t' = k² − 1 − t, rows (t', co),
// columns ci, at `ld` floats a row: w'[t'·C_out + co, ci] = w[t·C_in + ci, co].
void pack_transposed(ConstMatrixView w, std::size_t taps, std::size_t ld, float* out) {
  const std::size_t c_in = w.rows / taps, c_out = w.cols;
  for (std::size_t t = 0; t < taps; ++t) {
    for (std::size_t co = 0; co < c_out; ++co) {
      float* row = out + ((taps - 1 - t) * c_out + co) * ld;
      for (std::size_t ci = 0; ci < c_in; ++ci) row[ci] = w(t * c_in + ci, co);
      std::fill(row + c_in, row + ld, 0.0f);
    }
  }
}

// part = the weight gradient of images [begin, begin + rows): Σ over their pixels in order.
void weight_grad_chunk(const internal::ConvKernels& k, const WindowGeometry& g, ConstMatrixView x, ConstMatrixView dy,
                       std::size_t begin, std::size_t rows, MatrixView part) {
  float* const padded = scratch(0, rows * padded_floats(g.input, g.padding));
  pad_images(x, g.input, g.padding, begin, rows, padded);
  const ConstMatrixView dy_pixels = pixel_rows(image_rows(dy, begin, rows), part.cols);
  const std::size_t ld = round_up(part.cols, k.vector_floats);
  k.weight_grad({.window = window(padded, g.input, g.padding, g.kernel, g.stride, g.out_height(), g.out_width(), rows),
                 .dy = dy_pixels.ld == ld ? dy_pixels.data : widened(dy_pixels, ld, scratch(1, dy_pixels.rows * ld)),
                 .dy_ld = ld,
                 .dw = part.data,
                 .dw_ld = part.ld,
                 .out_channels = part.cols});
}

// dx of images [begin, begin + rows) for stride 1: the convolution of dy, padded by k − 1 − p,
// with the flipped, transposed weights wt (pack_transposed, rows of wt_ld floats).
void input_grad_chunk(const internal::ConvKernels& k, const WindowGeometry& g, ConstMatrixView dy, const float* wt,
                      std::size_t wt_ld, std::size_t begin, std::size_t rows, MatrixView dx) {
  const ImageShape out = g.output(dy.cols / g.out_pixels());
  const std::size_t pad = g.kernel - 1 - g.padding;
  float* const padded = scratch(1, rows * padded_floats(out, pad));
  pad_images(dy, out, pad, begin, rows, padded);
  k.forward({.window = window(padded, out, pad, g.kernel, 1, g.input.height, g.input.width, rows),
             .w = wt,
             .w_ld = wt_ld,
             .bias = nullptr,
             .y = dx.row(begin),
             .out_channels = g.input.channels});
}

}  // namespace

std::size_t conv_chunk_images(const WindowGeometry& g) {
  const std::size_t image_bytes = g.out_pixels() * g.kernel * g.kernel * g.input.channels * sizeof(float);
  return std::max<std::size_t>(1, kConvChunkBytes / image_bytes);
}

void conv2d_forward(const WindowGeometry& g, ConstMatrixView x, ConstMatrixView w, const float* bias, MatrixView y) {
  check_shapes("conv2d_forward", g, x, w, y);
  const std::size_t chunk = conv_chunk_images(g), chunks = chunk_count(x.rows, chunk), c_in = g.input.channels;
  if (pointwise(g, x)) {  // a GEMM over the pixels as they are
    internal::parallel_for_tiles(chunks, [&](std::size_t t) {
      const std::size_t begin = t * chunk, rows = std::min(chunk, x.rows - begin);
      gemm(Trans::no, Trans::no, 1.0f, pixel_rows(image_rows(x, begin, rows), c_in), w, 0.0f,
           pixel_rows(image_rows(y, begin, rows), w.cols), {bias});
    });
    return;
  }
  const internal::ConvKernels& k = kernels();
  const std::size_t ld = round_up(w.cols, k.vector_floats);
  const float* const packed = w.ld == ld ? w.data : widened(w, ld, scratch(2, w.rows * ld));
  internal::parallel_for_tiles(chunks, [&](std::size_t t) {
    const std::size_t begin = t * chunk, rows = std::min(chunk, x.rows - begin);
    float* const padded = scratch(0, rows * padded_floats(g.input, g.padding));
    pad_images(x, g.input, g.padding, begin, rows, padded);
    k.forward({.window = window(padded, g.input, g.padding, g.kernel, g.stride, g.out_height(), g.out_width(), rows),
               .w = packed,
               .w_ld = ld,
               .bias = bias,
               .y = y.row(begin),
               .out_channels = w.cols});
  });
}

void conv2d_backward(const WindowGeometry& g, ConstMatrixView x, ConstMatrixView w, ConstMatrixView dy, MatrixView dx,
                     MatrixView dw, float* db) {
  check_shapes("conv2d_backward", g, x, w, dy);
  require(dx.rows == x.rows && dx.cols == x.cols && dx.ld == dx.cols, "conv2d_backward", [&] {
    return "dx is " + shape_string(dx.rows, dx.cols) + ", expected a contiguous " + shape_string(x.rows, x.cols);
  });
  require(dw.rows == w.rows && dw.cols == w.cols, "conv2d_backward", [&] {
    return "dw is " + shape_string(dw.rows, dw.cols) + ", expected " + shape_string(w.rows, w.cols);
  });
  if (db != nullptr) add_column_sums(pixel_rows(dy, w.cols), db);
  const std::size_t chunk = conv_chunk_images(g), chunks = chunk_count(x.rows, chunk), c_in = g.input.channels;
  const internal::ConvKernels& k = kernels();
  const bool point = pointwise(g, x), direct_dx = !point && g.stride == 1;
  // Each chunk's weight gradient, added into dw in chunk order afterwards (every part is written
  // whole); and for a direct dx, the flipped weights.
  float* const partial = scratch(3, chunks * w.rows * w.cols);
  const std::size_t wt_ld = round_up(c_in, k.vector_floats);
  float* const wt = direct_dx ? scratch(2, g.kernel * g.kernel * w.cols * wt_ld) : nullptr;
  if (direct_dx) pack_transposed(w, g.kernel * g.kernel, wt_ld, wt);
  internal::parallel_for_tiles(chunks, [&](std::size_t t) {
    const std::size_t begin = t * chunk, rows = std::min(chunk, x.rows - begin);
    const ConstMatrixView dy_rows = pixel_rows(image_rows(dy, begin, rows), w.cols);
    const MatrixView part{partial + t * w.rows * w.cols, w.rows, w.cols, w.cols};
    const MatrixView dx_rows = image_rows(dx, begin, rows);
    if (point) {  // GEMMs over the pixels as they are
      const ConstMatrixView x_pixels = pixel_rows(image_rows(x, begin, rows), c_in);
      gemm(Trans::yes, Trans::no, 1.0f, x_pixels, dy_rows, 0.0f, part);
      gemm(Trans::no, Trans::yes, 1.0f, dy_rows, w, 0.0f, pixel_rows(dx_rows, c_in));
      return;
    }
    weight_grad_chunk(k, g, x, dy, begin, rows, part);
    if (direct_dx) {
      input_grad_chunk(k, g, dy, wt, wt_ld, begin, rows, dx);
      return;
    }
    // Strided: dcol = dy·wᵀ, scattered back onto the input pixels.
    const MatrixView dcol{scratch(1, dy_rows.rows * w.rows), dy_rows.rows, w.rows, w.rows};
    gemm(Trans::no, Trans::yes, 1.0f, dy_rows, w, 0.0f, dcol);
    col2im(g, dcol, dx_rows);
  });
  for (std::size_t t = 0; t < chunks; ++t) {
    const float* part = partial + t * w.rows * w.cols;
    for (std::size_t r = 0; r < w.rows; ++r) {
      float* out = dw.row(r);
      for (std::size_t c = 0; c < w.cols; ++c) out[c] += part[r * w.cols + c];
    }
  }
}

}  // namespace simdnn
