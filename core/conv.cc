#include <simdnn/core/conv.h>

#include <algorithm>
#include <string>

#include <simdnn/core/conv_kernels.h>
#include <simdnn/core/elementwise.h>
#include <simdnn/core/elementwise_kernels.h>
#include <simdnn/core/error.h>
#include <simdnn/core/gemm.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/kernels/dispatch.h>
#include <simdnn/core/parallel.h>
#include <simdnn/core/thread_scratch.h>

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

// This thread's scratch number `slot` (core/thread_scratch.h). Slots 0 and 1 serve the chunks,
// 2 and 3 the calling thread's packed weights and weight-gradient partials, 4 and 5 the chunks'
// Winograd blocks.
struct ConvScratch;
template <class T = float>
T* scratch(std::size_t slot, std::size_t n) {
  return internal::thread_scratch<ConvScratch, T, 6>(slot, n);
}

std::size_t chunk_count(std::size_t images, std::size_t chunk) { return (images + chunk - 1) / chunk; }

// The Winograd form's channel counts: the ResNet's 16, 32 and 64, each measured faster than the
// direct kernels (fewer were not measured; more would grow the weight gradient's 16·C_in·C_out
// sums past L2). Its blocks' size in floats: V and M of one block of tiles in 128 KiB, within L2
// with the weights; against 64 KiB the forward measured the same and the backward 3–6 % faster
// (the weight gradient's sums are loaded and stored once a block), and 256 KiB no faster.
constexpr std::size_t kWinogradMinChannels = 16;
constexpr std::size_t kWinogradMaxChannels = 64;
constexpr std::size_t kWinogradBlockFloats = 32 * 1024;

std::size_t round_up(std::size_t n, std::size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

const internal::ConvKernels& kernels() { return internal::conv_kernels(active_isa()); }

std::size_t padded_floats(const ImageShape& s, std::size_t pad) {
  return (s.height + 2 * pad) * (s.width + 2 * pad) * s.channels;
}

// Images [begin, begin + count) of x (shape s) zero-padded by `pad` on every side into this
// thread's scratch number `slot`, back to back, padded_floats(s, pad) each; returns where they start.
const float* padded_images(std::size_t slot, ConstMatrixView x, const ImageShape& s, std::size_t pad,
                           std::size_t begin, std::size_t count) {
  float* const padded = scratch(slot, count * padded_floats(s, pad));
  float* out = padded;
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
  return padded;
}

// The geometry of `count` images of shape s padded by `pad` under a kernel × kernel window moving
// by `stride`, out_h × out_w outputs per image; no images or window offsets yet.
internal::ConvWindow window_geometry(const ImageShape& s, std::size_t pad, std::size_t kernel, std::size_t stride,
                                     std::size_t out_h, std::size_t out_w, std::size_t count) {
  return {.x = nullptr,
          .offsets = nullptr,
          .pixels = count * out_h * out_w,
          .channels = s.channels,
          .kernel = kernel,
          .row_floats = (s.width + 2 * pad) * s.channels,
          .row_pixels = out_w,
          .image_rows = out_h,
          .padded_rows = s.height + 2 * pad,
          .stride = stride,
          .padding = pad};
}

// What a thread's window offsets in one scratch slot were computed for: the same key, the same
// offsets. windows() is the only writer of the size_t scratch slots.
struct OffsetsKey {
  const std::size_t* offsets;
  std::size_t image_floats, row_floats, channels, stride, out_h, out_w, count;
  bool operator==(const OffsetsKey&) const = default;
};

// A chunk's images padded as above at x, and the windows of its output pixels (window_geometry's
// arguments). The offsets go to this thread's scratch slot `slot` (0: the input's windows, 1:
// dy's): they stay valid until its next call for that slot. They depend only on the geometry, so
// a thread keeps them from one chunk to the next of the same shape.
internal::ConvWindow windows(std::size_t slot, const float* x, const ImageShape& s, std::size_t pad,
                             std::size_t kernel, std::size_t stride, std::size_t out_h, std::size_t out_w,
                             std::size_t count) {
  internal::ConvWindow w = window_geometry(s, pad, kernel, stride, out_h, out_w, count);
  const std::size_t image_floats = padded_floats(s, pad);
  std::size_t* const offsets = scratch<std::size_t>(slot, w.pixels);
  const OffsetsKey key{offsets, image_floats, w.row_floats, s.channels, stride, out_h, out_w, count};
  thread_local OffsetsKey computed_for[2]{};
  OffsetsKey& computed = computed_for[slot];
  if (!(key == computed)) {
    std::size_t* o = offsets;
    for (std::size_t n = 0; n < count; ++n) {
      for (std::size_t oh = 0; oh < out_h; ++oh) {
        for (std::size_t ow = 0; ow < out_w; ++ow) {
          *o++ = n * image_floats + (oh * w.row_floats + ow * s.channels) * stride;
        }
      }
    }
    computed = key;
  }
  w.x = x;
  w.offsets = offsets;
  return w;
}

// Images [begin, begin + count) of x padded by g.padding into this thread's scratch, and the
// windows of g's output pixels over them.
internal::ConvWindow padded_input(const WindowGeometry& g, ConstMatrixView x, std::size_t begin, std::size_t count) {
  const float* const padded = padded_images(0, x, g.input, g.padding, begin, count);
  return windows(0, padded, g.input, g.padding, g.kernel, g.stride, g.out_height(), g.out_width(), count);
}

// A convolution's weights laid out for the kernel that will run it (core/conv_kernels.h): as
// rows of vectors for `forward`, transposed for `forward_dot` when the outputs are few, or
// transformed for `winograd`.
struct PackedWeights {
  const float* data;
  std::size_t ld;
  bool dot;
  bool winograd = false;
};

// Packs at(r, c), the weight of window float r (of k²·c_in) for output channel c (of c_out), into
// the calling thread's scratch.
template <class At>
PackedWeights pack_weights(const internal::ConvKernels& k, std::size_t kernel, std::size_t c_in, std::size_t c_out,
                           At at, bool allow_dot = true) {
  const std::size_t rows = kernel * kernel * c_in;
  const bool dot = allow_dot && 2 * c_out <= k.vector_floats && kernel * c_in % k.vector_floats == 0;
  const std::size_t ld = dot ? rows : round_up(c_out, k.vector_floats);
  float* const out = scratch(2, (dot ? c_out : rows) * ld);
  std::fill_n(out, (dot ? c_out : rows) * ld, 0.0f);
  // In blocks of kBlock × kBlock: at() walks a column of w for the flipped and transposed
  // layouts, and a block keeps the lines it reads (and those it writes) in L1 while it uses them.
  constexpr std::size_t kBlock = 16;
  const std::size_t r_stride = dot ? 1 : ld, c_stride = dot ? ld : 1;
  for (std::size_t r0 = 0; r0 < rows; r0 += kBlock) {
    for (std::size_t c0 = 0; c0 < c_out; c0 += kBlock) {
      const std::size_t r_end = std::min(rows, r0 + kBlock), c_end = std::min(c_out, c0 + kBlock);
      for (std::size_t r = r0; r < r_end; ++r) {
        for (std::size_t c = c0; c < c_end; ++c) out[r * r_stride + c * c_stride] = at(r, c);
      }
    }
  }
  return {out, ld, dot};
}

// Whether a 3×3 convolution of geometry g's window from c_in to c_out channels runs in the Winograd
// form (kernels/winograd.h): where the ISA offers it, at stride 1 and padding 1, both channel
// counts multiples of the vector width from kWinogradMinChannels to kWinogradMaxChannels.
bool winograd_shape(const internal::ConvKernels& k, const WindowGeometry& g, std::size_t c_in, std::size_t c_out) {
  const auto fits = [&](std::size_t c) {
    return c % k.vector_floats == 0 && c >= kWinogradMinChannels && c <= kWinogradMaxChannels;
  };
  return k.winograd != nullptr && g.kernel == 3 && g.stride == 1 && g.padding == 1 && fits(c_in) && fits(c_out);
}

// The Winograd weights U_ξ = G g Gᵀ (core/conv_kernels.h, WinogradArgs) of the 3×3 weights at(r, c),
// r = (kh·3 + kw)·c_in + ci, c = co, into the calling thread's scratch: per input channel, its 9
// rows gathered, then the kernel's transform.
template <class At>
const float* winograd_weights(const internal::ConvKernels& k, std::size_t c_in, std::size_t c_out, At at) {
  float* const u = scratch(2, 16 * c_in * c_out + 9 * c_out);
  float* const g = u + 16 * c_in * c_out;
  for (std::size_t ci = 0; ci < c_in; ++ci) {
    for (std::size_t t = 0; t < 9; ++t) {
      for (std::size_t co = 0; co < c_out; ++co) g[t * c_out + co] = at(t * c_in + ci, co);
    }
    k.winograd_weights(g, c_out, u + ci * c_out, c_in * c_out);
  }
  return u;
}

// Tiles per Winograd block for c_in to c_out channels: V and M (or Z) together about
// kWinogradBlockFloats, in multiples of 12 (whole register tiles of the products' 6 rows).
std::size_t winograd_block(std::size_t c_in, std::size_t c_out) {
  return std::max<std::size_t>(12, kWinogradBlockFloats / (16 * (c_in + c_out)) / 12 * 12);
}

// The Winograd kernels' arguments for `images` images of H × W × c_in already padded by 1 at
// `padded`, to c_out channels, their blocks in this thread's scratch.
internal::WinogradArgs winograd_args(const float* padded, std::size_t images, std::size_t height, std::size_t width,
                                     std::size_t c_in, std::size_t c_out) {
  const std::size_t block = winograd_block(c_in, c_out);
  return {.x = padded,
          .images = images,
          .height = height,
          .width = width,
          .in_channels = c_in,
          .out_channels = c_out,
          .u = nullptr,
          .bias = nullptr,
          .y = nullptr,
          .v = scratch(4, block * (16 * c_in + internal::kWinogradTilePad)),
          .m = scratch(5, block * (16 * c_out + internal::kWinogradTilePad)),
          .tile_block = block};
}

// y (images × H × W × c_out) = the Winograd convolution of those images with weights u
// (winograd_weights) and bias (or null).
void run_winograd(const internal::ConvKernels& k, const float* u, const float* padded, std::size_t images,
                  std::size_t height, std::size_t width, std::size_t c_in, std::size_t c_out, const float* bias,
                  float* y) {
  internal::WinogradArgs a = winograd_args(padded, images, height, width, c_in, c_out);
  a.u = u;
  a.bias = bias;
  a.y = y;
  k.winograd(a);
}

void run_forward(const internal::ConvKernels& k, const PackedWeights& w, const internal::ConvWindow& window,
                 const float* bias, float* y, std::size_t out_channels) {
  (w.dot ? k.forward_dot : k.forward)(
      {.window = window, .w = w.data, .w_ld = w.ld, .bias = bias, .y = y, .out_channels = out_channels});
}

// dw's chunk part = the weight gradient of images [begin, begin + rows) (their padded windows
// `input`): Σ over their pixels in order. dy's pixel rows are widened to whole vectors when C_out
// is not.
void weight_grad_chunk(const internal::ConvKernels& k, const internal::ConvWindow& input, ConstMatrixView dy,
                       std::size_t begin, std::size_t rows, MatrixView part) {
  const ConstMatrixView dy_pixels = pixel_rows(image_rows(dy, begin, rows), part.cols);
  const std::size_t ld = round_up(part.cols, k.vector_floats);
  const float* dy_data = dy_pixels.data;
  if (ld != part.cols) {
    float* const wide = scratch(1, dy_pixels.rows * ld);
    for (std::size_t r = 0; r < dy_pixels.rows; ++r) {
      std::copy_n(dy_pixels.row(r), part.cols, wide + r * ld);
      std::fill(wide + r * ld + part.cols, wide + (r + 1) * ld, 0.0f);
    }
    dy_data = wide;
  }
  k.weight_grad({.window = input,
                 .dy = dy_data,
                 .dy_ld = ld,
                 .dw = part.data,
                 .dw_ld = part.ld,
                 .out_channels = part.cols});
}

// dx of images [begin, begin + rows) for stride 1: the convolution of dy, padded by k − 1 − p,
// with the flipped, transposed weights wt.
void input_grad_chunk(const internal::ConvKernels& k, const WindowGeometry& g, ConstMatrixView dy,
                      const PackedWeights& wt, std::size_t begin, std::size_t rows, MatrixView dx) {
  const ImageShape out = g.output(dy.cols / g.out_pixels());
  const std::size_t pad = g.kernel - 1 - g.padding;
  const float* const padded = padded_images(1, dy, out, pad, begin, rows);
  if (wt.winograd) {
    run_winograd(k, wt.data, padded, rows, out.height, out.width, out.channels, g.input.channels, nullptr,
                 dx.row(begin));
    return;
  }
  run_forward(k, wt, windows(1, padded, out, pad, g.kernel, 1, g.input.height, g.input.width, rows), nullptr,
              dx.row(begin), g.input.channels);
}

// dx of images [begin, begin + rows) for stride > 1 by the kernels' gather (it reads only dy and
// the weights wt, laid out as below), when they have one for g; else false.
bool gathered_input_grad_chunk(const internal::ConvKernels& k, const WindowGeometry& g, ConstMatrixView dy,
                               const PackedWeights& wt, std::size_t begin, std::size_t rows, MatrixView dx) {
  return k.input_grad_rows({.window = window_geometry(g.input, g.padding, g.kernel, g.stride, g.out_height(),
                                                     g.out_width(), rows),
                            .dx = dx.row(begin),
                            .dy = dy.row(begin),
                            .out_channels = dy.cols / g.out_pixels(),
                            .w = wt.data,
                            .w_ld = wt.ld});
}

// dx of images [begin, begin + rows) for stride > 1: dy scattered through the weights wt
// (per tap, C_out rows of C_in) into zero-padded images, whose inside is then dx. `input`: the
// images' windows (only their offsets are used: the padded dx has the padded input's layout).
void strided_input_grad_chunk(const internal::ConvKernels& k, const WindowGeometry& g, const internal::ConvWindow& input,
                              ConstMatrixView dy, const PackedWeights& wt, std::size_t begin, std::size_t rows,
                              MatrixView dx) {
  const ImageShape& in = g.input;
  const std::size_t image_floats = padded_floats(in, g.padding);
  float* const padded = scratch(1, rows * image_floats);
  std::fill_n(padded, rows * image_floats, 0.0f);
  internal::ConvWindow window = input;
  window.x = padded;
  k.input_grad({.window = window,
                .dx = padded,
                .dy = dy.row(begin),
                .out_channels = dy.cols / g.out_pixels(),
                .w = wt.data,
                .w_ld = wt.ld});
  const std::size_t row = in.width * in.channels, row_floats = (in.width + 2 * g.padding) * in.channels;
  for (std::size_t n = 0; n < rows; ++n) {
    const float* src = padded + n * image_floats + g.padding * (row_floats + in.channels);
    for (std::size_t h = 0; h < in.height; ++h) std::copy_n(src + h * row_floats, row, dx.row(begin + n) + h * row);
  }
}

}  // namespace

bool conv_runs_winograd(const WindowGeometry& g, std::size_t out_channels) {
  return winograd_shape(kernels(), g, g.input.channels, out_channels);
}

std::size_t conv_chunk_images(const WindowGeometry& g) {
  return (kConvChunkPixels + g.out_pixels() - 1) / g.out_pixels();
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
  if (winograd_shape(k, g, c_in, w.cols)) {
    const float* const u = winograd_weights(k, c_in, w.cols, [&](std::size_t r, std::size_t c) { return w(r, c); });
    internal::parallel_for_tiles(chunks, [&](std::size_t t) {
      const std::size_t begin = t * chunk, rows = std::min(chunk, x.rows - begin);
      const float* const padded = padded_images(0, x, g.input, g.padding, begin, rows);
      run_winograd(k, u, padded, rows, g.input.height, g.input.width, c_in, w.cols, bias, y.row(begin));
    });
    return;
  }
  const PackedWeights packed = pack_weights(k, g.kernel, c_in, w.cols, [&](std::size_t r, std::size_t c) { return w(r, c); });
  internal::parallel_for_tiles(chunks, [&](std::size_t t) {
    const std::size_t begin = t * chunk, rows = std::min(chunk, x.rows - begin);
    run_forward(k, packed, padded_input(g, x, begin, rows), bias, y.row(begin), w.cols);
  });
}

void conv2d_backward(const WindowGeometry& g, ConstMatrixView x, ConstMatrixView w, ConstMatrixView dy, MatrixView dx,
                     MatrixView dw, float* db) {
  check_shapes("conv2d_backward", g, x, w, dy);
  const auto wanted = [](MatrixView v) { return v.data != nullptr || v.rows != 0 || v.cols != 0; };  // MatrixView{}: skip
  const bool want_dx = wanted(dx), want_dw = wanted(dw);
  require(!want_dx || (dx.rows == x.rows && dx.cols == x.cols && dx.ld == dx.cols), "conv2d_backward", [&] {
    return "dx is " + shape_string(dx.rows, dx.cols) + ", expected a contiguous " + shape_string(x.rows, x.cols);
  });
  require(!want_dw || (dw.rows == w.rows && dw.cols == w.cols), "conv2d_backward", [&] {
    return "dw is " + shape_string(dw.rows, dw.cols) + ", expected " + shape_string(w.rows, w.cols);
  });
  if (db != nullptr) add_column_sums(pixel_rows(dy, w.cols), db);
  const std::size_t chunk = conv_chunk_images(g), chunks = chunk_count(x.rows, chunk), c_in = g.input.channels;
  const Isa isa = active_isa();  // read once: every kernel of this call comes from the same tables
  const internal::ConvKernels& k = internal::conv_kernels(isa);
  const bool point = pointwise(g, x), direct_dx = !point && g.stride == 1;
  // Each chunk's weight gradient, added into dw in chunk order afterwards (every part is written
  // whole).
  float* const partial = want_dw ? scratch(3, chunks * w.rows * w.cols) : nullptr;
  // dx with stride 1 is the convolution of dy with the flipped weights: its window float
  // r = t'·C_out + co (tap t' = k² − 1 − t) for output channel ci is w[t·C_in + ci, co]. With a
  // larger stride, dy is scattered through the weights by tap: row t·C_out + co, column ci.
  const std::size_t taps = g.kernel * g.kernel;
  const auto flipped = [&](std::size_t r, std::size_t ci) {
    return w((taps - 1 - r / w.cols) * c_in + ci, r % w.cols);
  };
  const PackedWeights wt =
      point || !want_dx ? PackedWeights{}
      : direct_dx && winograd_shape(k, g, w.cols, c_in)
          ? PackedWeights{winograd_weights(k, w.cols, c_in, flipped), 0, false, true}
      : direct_dx
          ? pack_weights(k, g.kernel, w.cols, c_in, flipped)
          : pack_weights(
                k, g.kernel, w.cols, c_in,
                [&](std::size_t r, std::size_t ci) { return w(r / w.cols * c_in + ci, r % w.cols); }, false);
  internal::parallel_for_tiles(chunks, [&](std::size_t t) {
    const std::size_t begin = t * chunk, rows = std::min(chunk, x.rows - begin);
    const ConstMatrixView dy_rows = pixel_rows(image_rows(dy, begin, rows), w.cols);
    const MatrixView part{want_dw ? partial + t * w.rows * w.cols : nullptr, w.rows, w.cols, w.cols};
    const MatrixView dx_rows = image_rows(dx, begin, rows);
    if (point) {  // GEMMs over the pixels as they are
      const ConstMatrixView x_pixels = pixel_rows(image_rows(x, begin, rows), c_in);
      if (want_dw) gemm(Trans::yes, Trans::no, 1.0f, x_pixels, dy_rows, 0.0f, part);
      if (want_dx) gemm(Trans::no, Trans::yes, 1.0f, dy_rows, w, 0.0f, pixel_rows(dx_rows, c_in));
      return;
    }
    if (direct_dx && !want_dw) {  // dx alone reads only dy and the weights
      input_grad_chunk(k, g, dy, wt, begin, rows, dx);
      return;
    }
    if (want_dw && winograd_shape(k, g, c_in, w.cols)) {
      const float* const padded = padded_images(0, x, g.input, g.padding, begin, rows);
      internal::WinogradArgs a = winograd_args(padded, rows, g.input.height, g.input.width, c_in, w.cols);
      a.dy = dy_rows.data;
      a.dw = part.data;
      a.dw_ld = part.ld;
      a.s = scratch(1, 16 * c_in * w.cols);
      k.winograd_weight_grad(a);
      if (want_dx) input_grad_chunk(k, g, dy, wt, begin, rows, dx);
      return;
    }
    const bool gathered = want_dx && !direct_dx && gathered_input_grad_chunk(k, g, dy, wt, begin, rows, dx);
    if (!want_dw && gathered) return;
    const internal::ConvWindow input = padded_input(g, x, begin, rows);
    if (want_dw) weight_grad_chunk(k, input, dy, begin, rows, part);
    if (!want_dx || gathered) return;
    if (direct_dx) {
      input_grad_chunk(k, g, dy, wt, begin, rows, dx);
    } else {
      strided_input_grad_chunk(k, g, input, dy, wt, begin, rows, dx);
    }
  });
  if (!want_dw) return;
  // dw += the parts, each element's in chunk order; rows of dw in parallel, each tile's rows one
  // vectorized run when dw is contiguous.
  constexpr std::size_t kRowsPerTile = 16;
  const auto add = internal::elementwise_kernels(isa).add;
  const bool contiguous = dw.ld == dw.cols;
  internal::parallel_for_tiles((w.rows + kRowsPerTile - 1) / kRowsPerTile, [&](std::size_t tile) {
    const std::size_t begin = tile * kRowsPerTile, end = std::min(w.rows, begin + kRowsPerTile);
    for (std::size_t t = 0; t < chunks; ++t) {
      const float* part = partial + t * w.rows * w.cols;
      if (contiguous) {
        add(dw.row(begin), part + begin * w.cols, dw.row(begin), (end - begin) * w.cols);
      } else {
        for (std::size_t r = begin; r < end; ++r) add(dw.row(r), part + r * w.cols, dw.row(r), w.cols);
      }
    }
  });
}

}  // namespace simdnn
