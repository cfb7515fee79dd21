// The per-ISA direct-convolution kernel table: core/conv.cc's convolutions without im2col, and
// core/image.cc's max pooling.
//
// Why direct: the ResNet's convolutions have 1–64 channels. As im2col + GEMM, their GEMMs are 16
// to 64 columns wide (one to four vectors, part of every microkernel tile wasted) and the im2col
// rows are written and read back for every pass. Here the register tile reads the zero-padded
// images in place: output pixel q's window at tap t = (kh, kw) starts at a fixed offset from the
// pixel's own, so MR pixels × NV vectors of output channels accumulate over every tap and input
// channel without leaving the registers.
//
// The kernels work on zero-padded NHWC images stored back to back (core/conv.cc pads them and
// lists where each output pixel's window starts). Within a window, row kh of the kernel is k·C
// contiguous floats (its k pixels' channels) at kh·row_floats from the start, so a window is read
// as k runs of k·C floats, matching w's rows (kh·k + kw)·C + ci. Kernels work on the calling
// thread, never allocate and never throw.
#pragma once

#include <cstddef>
#include <cstdint>

#include <simdnn/core/isa.h>
#include <simdnn/core/kernels/arch.h>

namespace simdnn::internal {

// The windows of one call: output pixel q (q < pixels) reads the k × k window that starts at
// x + offsets[q] (the padded pixel (oh·stride, ow·stride) of its image).
struct ConvWindow {
  const float* x;
  const std::size_t* offsets;
  std::size_t pixels;
  std::size_t channels;     // input channels C
  std::size_t kernel;       // k
  std::size_t row_floats;   // floats per padded image row
  std::size_t row_pixels;   // output pixels per output row: pixels come in rows of this many
  std::size_t image_rows;   // output rows per image
  std::size_t padded_rows;  // rows per padded image (its input rows + 2·padding)
  std::size_t stride;       // consecutive pixels of an output row start stride·C floats apart
  std::size_t padding;      // zero rows and columns around each image
};

// y[q, co] = Σ_{t, ci} x(q, t, ci) · w[t·C + ci, co] (+ bias[co]) for q < pixels, bias added
// last; y: row q at y + q·C_out; bias: C_out floats or null.
//   forward:     w is k²·C rows of w_ld floats, w_ld a multiple of the vector width and >= C_out,
//                columns past C_out zero; the sum runs over t then ci in order, except on
//                AVX-512 for 3×3 windows at padding 1, stride 1 over 16 or 32 channels (64 on
//                images 4 wide) with as many outputs, or stride 2 from 16 channels to 32
//                or 32 to 64 (kernels/conv.h, the row tile), where it runs over kh, then ci, then kw, and
//                leaves out taps that fall on the padding.
//   forward_dot: for few output channels (C_out ≤ vector_floats / 2, k·C a multiple of the
//                vector width): w is C_out rows of w_ld >= k²·C floats, row co = column co of the
//                above; each lane sums every vector-width-th term, then the lanes are added.
struct ConvForwardArgs {
  ConvWindow window;
  const float* w;
  std::size_t w_ld;
  const float* bias;
  float* y;
  std::size_t out_channels;
};

// dw[t·C + ci, co] = Σ_q x(q, t, ci) · dy[q, co] over q < pixels in order (overwritten); terms
// whose x is padding may be left out (kernels/conv.h), so a non-finite dy there adds no NaN.
// dy: row q at dy + q·dy_ld, dy_ld a multiple of the vector width >= C_out, and readable in full
// (columns past C_out are read; their sums are not stored). dw: k²·C rows of C_out at dw_ld.
struct ConvWeightGradArgs {
  ConvWindow window;
  const float* dy;
  std::size_t dy_ld;
  float* dw;
  std::size_t dw_ld;
  std::size_t out_channels;
};

// dx += the adjoint of forward's window reads, for strided convolutions (where dx is no plain
// convolution of dy): for every pixel q and tap t, x(q, t, ci) += Σ_co dy[q, co] · w[t·C + ci, co],
// in strips of pixels, then blocks of dx's channels, then taps, in order. dx: the padded input
// gradient images, the windows as in `window` (whose x is dx). dy: row q at dy + q·C_out.
// w: per tap, C_out rows of w_ld floats, w_ld a multiple of the vector width >= C, zeros past C:
// the weight (t·C + ci, co) at w[(t·C_out + co)·w_ld + ci].
struct ConvInputGradArgs {
  ConvWindow window;
  float* dx;
  const float* dy;
  std::size_t out_channels;
  const float* w;
  std::size_t w_ld;
};

// The Winograd F(2×2, 3×3) form of a 3×3 convolution at stride 1 and padding 1 (kernels/winograd.h),
// for channel counts that are multiples of the vector width: y = conv(x) (+ bias[co], added
// last), each output the 16 products of its tile summed over ci in order, then transformed.
//   x: `images` images of (height + 2) × (width + 2) × C_in floats, zero-padded by 1, back to back;
//   u: the transformed weights, 16 matrices (ξ = 4·a + b) of C_in × C_out: U_ξ[ci, co] =
//      Σ_{kh, kw} G[a, kh] · G[b, kw] · w[(kh·3 + kw)·C_in + ci, co] (core/conv.cc);
//   y: images × height × width × C_out, overwritten; bias: C_out floats or null;
//   v, m: scratch of tile_block tiles of C_in and of C_out channels (kWinogradTilePad).
// winograd_weight_grad: the weight gradient of the same convolution given dy (images × height ×
// width × C_out): dw[(kh·3 + kw)·C_in + ci, co] (rows of dw_ld floats, overwritten) = Gᵀ S G at
// (kh, kw), where S_ξ[ci, co] = Σ over the tiles in order of V_ξ[tile, ci] · (A dY Aᵀ)_ξ[tile, co]
// (kernels/winograd.h); u, bias and y are not read; s: scratch of 16 · C_in · C_out floats.
// A tile of C channels in the Winograd blocks takes 16·C + kWinogradTilePad floats: a cache line
// of padding (kernels/winograd.h says why).
inline constexpr std::size_t kWinogradTilePad = 16;

struct WinogradArgs {
  const float* x;
  std::size_t images, height, width;
  std::size_t in_channels, out_channels;
  const float* u;
  const float* bias;
  float* y;
  float* v;
  float* m;
  std::size_t tile_block;
  const float* dy = nullptr;
  float* dw = nullptr;
  std::size_t dw_ld = 0;
  float* s = nullptr;
};

// A pooling window over H × W × C NHWC images, as core/image.h's WindowGeometry (checked there):
// output pixel (oh, ow) covers rows oh·stride − padding + kh and columns ow·stride − padding + kw.
struct PoolWindow {
  std::size_t height, width, channels;
  std::size_t kernel, stride, padding;
  std::size_t out_height, out_width;
};

// Max pooling of one image: y[o·C + c] = the first maximum of output pixel o's window in (kh, kw)
// order, or the window's first NaN; argmax[o·C + c] (null: not wanted) = its index in the image.
// y and argmax: out_height·out_width·C entries.
struct MaxPoolArgs {
  PoolWindow g;
  const float* x;
  float* y;
  std::uint32_t* argmax;
};

// Its gradient: dx (H·W·C floats, overwritten) = 0, then dx[argmax[i]] += dy[i] in order of i;
// argmax as max_pool wrote it (each index inside its output's window).
struct MaxPoolBackwardArgs {
  PoolWindow g;
  const float* dy;
  const std::uint32_t* argmax;
  float* dx;
};

// A plain aggregate of function pointers (see random_kernels.h for why).
struct ConvKernels {
  std::size_t vector_floats;  // the vector width: w_ld and dy_ld are multiples of it
  void (*forward)(const ConvForwardArgs& args);
  void (*forward_dot)(const ConvForwardArgs& args);
  void (*weight_grad)(const ConvWeightGradArgs& args);
  void (*input_grad)(const ConvInputGradArgs& args);
  // input_grad's gather form where the ISA has one for the shape (kernels/conv.h: AVX-512, 3×3
  // windows at stride 2 and padding 1 over 16 or 32 input channels on the ResNet's widths), else
  // returns false and does nothing. Here dx is the chunk's input gradient unpadded, back to back,
  // and is overwritten; `window` gives the padded geometry (its x and offsets are not read). Each
  // dx element sums over the window rows kh, then the output channels, then the output columns,
  // in order: no order depends on the other images of the chunk.
  bool (*input_grad_rows)(const ConvInputGradArgs& args);
  // The Winograd form (WinogradArgs), null where the ISA does not offer it (kernels/winograd.h).
  void (*winograd)(const WinogradArgs& args);
  void (*winograd_weight_grad)(const WinogradArgs& args);
  // U_ξ's rows of one input channel ci (ξ = 0..15, at u + ξ·plane) from its 9 rows of weights
  // g[(kh·3 + kw)·C_out + co], C_out a multiple of vector_floats.
  void (*winograd_weights)(const float* g, std::size_t c_out, float* u, std::size_t plane);
  // Max pooling, the other windowed pass of the convolutional models (kernels/pooling.h).
  void (*max_pool)(const MaxPoolArgs& args);
  void (*max_pool_backward)(const MaxPoolBackwardArgs& args);
};

// The table for `isa`, built once on first use. Throws std::invalid_argument if the CPU lacks it.
const ConvKernels& conv_kernels(Isa isa);

// Defined in kernels/conv.h and instantiated only in conv_<isa>.cc.
template <class Arch>
ConvKernels make_conv_kernels();

#define SIMDNN_EXTERN_CONVKERNELS(name) \
  extern template ConvKernels make_conv_kernels<XsimdArch<Isa::name>::type>();
SIMDNN_ISA_LIST(SIMDNN_EXTERN_CONVKERNELS)
#undef SIMDNN_EXTERN_CONVKERNELS

}  // namespace simdnn::internal
