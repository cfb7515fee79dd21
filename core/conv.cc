#include <simdnn/core/conv.h>

#include <algorithm>
#include <string>
#include <vector>

#include <simdnn/core/elementwise.h>
#include <simdnn/core/error.h>
#include <simdnn/core/gemm.h>
#include <simdnn/core/parallel.h>

namespace simdnn {

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

// This thread's im2col scratch for one chunk (thread_local: steady state allocates nothing). Safe
// across parallel_for_tiles: while a thread waits inside a nested loop it runs only that loop's
// tiles (core/parallel.h), never another chunk.
MatrixView chunk_scratch(std::size_t slot, std::size_t rows, std::size_t cols) {
  thread_local std::vector<float> buffers[2];
  std::vector<float>& b = buffers[slot];
  if (b.size() < rows * cols) b.resize(rows * cols);
  return {b.data(), rows, cols, cols};
}

// The GEMM rows of images [begin, begin + rows) of x: their pixel rows, or their im2col in scratch.
ConstMatrixView chunk_columns(const WindowGeometry& g, ConstMatrixView x, std::size_t begin, std::size_t rows) {
  const ConstMatrixView images = image_rows(x, begin, rows);
  if (pointwise(g, x)) return pixel_rows(images, g.input.channels);
  const MatrixView col = chunk_scratch(0, rows * g.out_pixels(), g.kernel * g.kernel * g.input.channels);
  im2col(g, images, col);
  return col;
}

std::size_t chunk_count(std::size_t images, std::size_t chunk) { return (images + chunk - 1) / chunk; }

}  // namespace

std::size_t conv_chunk_images(const WindowGeometry& g) {
  const std::size_t image_bytes = g.out_pixels() * g.kernel * g.kernel * g.input.channels * sizeof(float);
  return std::max<std::size_t>(1, kConvChunkBytes / image_bytes);
}

void conv2d_forward(const WindowGeometry& g, ConstMatrixView x, ConstMatrixView w, const float* bias, MatrixView y) {
  check_shapes("conv2d_forward", g, x, w, y);
  const std::size_t chunk = conv_chunk_images(g);
  internal::parallel_for_tiles(chunk_count(x.rows, chunk), [&](std::size_t t) {
    const std::size_t begin = t * chunk, rows = std::min(chunk, x.rows - begin);
    gemm(Trans::no, Trans::no, 1.0f, chunk_columns(g, x, begin, rows), w, 0.0f,
         pixel_rows(image_rows(y, begin, rows), w.cols), {bias});
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
  const std::size_t chunk = conv_chunk_images(g), chunks = chunk_count(x.rows, chunk);
  // Each chunk's colᵀ·dy, added into dw in chunk order afterwards: in the calling thread's
  // scratch, grown once (the tiles only write their own parts; every part is written whole). The
  // tiles reach it through `partial`, a pointer taken here: inside a tile the thread_local name
  // would be the running thread's own, empty buffer.
  thread_local std::vector<float> scratch;
  if (scratch.size() < chunks * w.rows * w.cols) scratch.resize(chunks * w.rows * w.cols);
  float* const partial = scratch.data();
  internal::parallel_for_tiles(chunks, [&](std::size_t t) {
    const std::size_t begin = t * chunk, rows = std::min(chunk, x.rows - begin);
    const ConstMatrixView dy_rows = pixel_rows(image_rows(dy, begin, rows), w.cols);
    const MatrixView part{partial + t * w.rows * w.cols, w.rows, w.cols, w.cols};
    gemm(Trans::yes, Trans::no, 1.0f, chunk_columns(g, x, begin, rows), dy_rows, 0.0f, part);
    const MatrixView dx_rows = image_rows(dx, begin, rows);
    if (pointwise(g, x)) {  // dx's pixel rows are dcol
      gemm(Trans::no, Trans::yes, 1.0f, dy_rows, w, 0.0f, pixel_rows(dx_rows, g.input.channels));
      return;
    }
    const MatrixView dcol = chunk_scratch(1, rows * g.out_pixels(), w.rows);
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
