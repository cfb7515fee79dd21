// Max pooling kernels (core/conv_kernels.h, MaxPoolArgs), templated on the xsimd architecture.
// Included only by the per-ISA files conv_<isa>.cc, with core/kernels/conv.h.
//
// Forward, per output pixel and vector of channels: the window's values are compared in
// registers, the best so far and its index in two vectors. The index rides in a float vector as
// its bit pattern (a blend moves bits unchanged), so it is exact for any index a uint32 holds
// (core/image.cc refuses larger images). Channels past the last whole vector go one at a time by
// the same rule.
//
// Backward: where windows do not overlap (stride ≥ kernel) each input pixel takes at most one
// gradient, so every window position is written once, 0 + dy where it is the window's argmax (the
// definition's sum: a −0 becomes +0) and 0 elsewhere. Where the windows tile the image there is
// no zero fill first, and each window row's vector of argmax and dy is loaded once and compared
// with the row's pixels in memory order (2.0x faster than the general loop over windows and their
// positions, at the stem's 28x28x16 on Zen 2). Overlapping windows add their gradients into a
// zeroed dx in output order.
//
// Like the other kernel headers, this one calls no inline function that baseline code also
// instantiates (std::fill, std::min): the linker could keep an AVX copy for the SSE2 path.
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <simdnn/core/conv_kernels.h>
#include <simdnn/core/kernels/unroll.h>
#include <simdnn/core/kernels/vector_math.h>

namespace simdnn::internal::kernels::pool {

using vmath::IVec;
using vmath::Vec;

// The kernel positions [begin, end) of output row (or column) `out` that fall inside an image
// `size` pixels high (or wide). Never empty: padding < kernel and the padded image holds the
// window (core/image.h's WindowGeometry::check).
struct Taps {
  std::size_t begin, end;
};
template <class Arch>
[[gnu::always_inline]] inline Taps taps_inside(const PoolWindow& g, std::size_t out, std::size_t size) {
  const std::size_t start = out * g.stride;  // the window's first position, in padded coordinates
  const std::size_t end = size + g.padding - start;  // one past the image's last position
  return {start < g.padding ? g.padding - start : 0, end < g.kernel ? end : g.kernel};
}

// The window of output pixel (oh, ow): its positions inside the image, and the image index of
// position (kh, kw)'s channel 0.
template <class Arch>
struct Window {
  const PoolWindow& g;
  std::size_t oh, ow;
  Taps rows, cols;

  Window(const PoolWindow& geometry, std::size_t out_h, std::size_t out_w)
      : g(geometry), oh(out_h), ow(out_w), rows(taps_inside<Arch>(g, oh, g.height)),
        cols(taps_inside<Arch>(g, ow, g.width)) {}
  std::size_t at(std::size_t kh, std::size_t kw) const {
    return ((oh * g.stride + kh - g.padding) * g.width + ow * g.stride + kw - g.padding) * g.channels;
  }
  template <class F>
  [[gnu::always_inline]] void for_each(const F& f) const {
    for (std::size_t kh = rows.begin; kh < rows.end; ++kh) {
      for (std::size_t kw = cols.begin; kw < cols.end; ++kw) f(at(kh, kw));
    }
  }
};

// 0, 1, ..., W − 1: the lanes' channel offsets.
template <class Arch>
[[gnu::always_inline]] inline IVec<Arch> lane_numbers() {
  alignas(64) static constexpr std::int32_t kLanes[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  return IVec<Arch>::load_aligned(kLanes);
}

// Channels [k, k + W) of window w: the maximum into y, its index into where when kIndex.
template <class Arch, bool kIndex>
[[gnu::always_inline]] inline void max_vector(const float* x, const Window<Arch>& w, std::size_t k, float* y,
                                              std::uint32_t* where) {
  const IVec<Arch> lanes = lane_numbers<Arch>();
  const std::size_t first = w.at(w.rows.begin, w.cols.begin) + k;
  Vec<Arch> best = Vec<Arch>::load_unaligned(x + first);
  Vec<Arch> index = xsimd::bitwise_cast<Vec<Arch>>(IVec<Arch>(static_cast<std::int32_t>(first)) + lanes);
  w.for_each([&](std::size_t at) {
    if (at + k == first) return;
    const Vec<Arch> v = Vec<Arch>::load_unaligned(x + at + k);
    // v wins over the best so far b if greater, or if it is the window's first NaN.
    const auto wins = (v > best) | (xsimd::isnan(v) & (best == best));
    best = xsimd::select(wins, v, best);
    if constexpr (kIndex) {
      const IVec<Arch> here = IVec<Arch>(static_cast<std::int32_t>(at + k)) + lanes;
      index = xsimd::select(wins, xsimd::bitwise_cast<Vec<Arch>>(here), index);
    }
  });
  best.store_unaligned(y);
  if constexpr (kIndex) xsimd::bitwise_cast<IVec<Arch>>(index).store_unaligned(reinterpret_cast<std::int32_t*>(where));
}

// Channel k of window w, by max_vector's rule.
template <class Arch>
inline void max_channel(const float* x, const Window<Arch>& w, std::size_t k, float* y, std::uint32_t* where) {
  std::size_t chosen = w.at(w.rows.begin, w.cols.begin) + k;
  w.for_each([&](std::size_t at) {
    const float v = x[at + k], b = x[chosen];
    if (v > b || (v != v && b == b)) chosen = at + k;
  });
  *y = x[chosen];
  if (where != nullptr) *where = static_cast<std::uint32_t>(chosen);
}

template <class Arch>
void max_pool(const MaxPoolArgs& a) {
  constexpr std::size_t W = Vec<Arch>::size;
  const PoolWindow& g = a.g;
  const std::size_t c = g.channels, out_w = g.out_width;
  with_flag(a.argmax != nullptr, [&](auto indexed) {
    for (std::size_t oh = 0; oh < g.out_height; ++oh) {
      for (std::size_t ow = 0; ow < out_w; ++ow) {
        const Window<Arch> w(g, oh, ow);
        const std::size_t o = (oh * out_w + ow) * c;
        std::uint32_t* const where = indexed ? a.argmax + o : nullptr;
        std::size_t k = 0;
        for (; k + W <= c; k += W) max_vector<Arch, indexed>(a.x, w, k, a.y + o + k, indexed ? where + k : nullptr);
        for (; k < c; ++k) max_channel<Arch>(a.x, w, k, a.y + o + k, indexed ? where + k : nullptr);
      }
    }
  });
}

// max_pool_backward where the windows tile the image: each input row in memory order, k pixels
// (one window's row) at a time, each compared with the argmax of the one window that holds it.
template <class Arch>
void route_tiled(const MaxPoolBackwardArgs& a) {
  constexpr std::size_t W = Vec<Arch>::size;
  const PoolWindow& g = a.g;
  const std::size_t c = g.channels, k = g.kernel, row_floats = g.width * c;
  const IVec<Arch> lanes = lane_numbers<Arch>();
  float* dx = a.dx;
  for (std::size_t ih = 0; ih < g.height; ++ih) {
    std::size_t at = ih * row_floats;  // the image index of the pixel's channel 0
    const std::size_t first_output = ih / k * g.out_width * c;
    for (std::size_t ow = 0; ow < g.out_width; ++ow, at += k * c, dx += k * c) {
      const float* const dy = a.dy + first_output + ow * c;
      const std::uint32_t* const argmax = a.argmax + first_output + ow * c;
      std::size_t j = 0;
      for (; j + W <= c; j += W) {
        const IVec<Arch> where = IVec<Arch>::load_unaligned(reinterpret_cast<const std::int32_t*>(argmax + j));
        const IVec<Arch> d = xsimd::bitwise_cast<IVec<Arch>>(Vec<Arch>::load_unaligned(dy + j) + Vec<Arch>(0.0f));
        IVec<Arch> here = IVec<Arch>(static_cast<std::int32_t>(at + j)) + lanes;
        const IVec<Arch> step(static_cast<std::int32_t>(c));
        for (std::size_t kw = 0; kw < k; ++kw, here += step) {
          const IVec<Arch> routed = xsimd::select(where == here, d, IVec<Arch>(0));
          xsimd::bitwise_cast<Vec<Arch>>(routed).store_unaligned(dx + kw * c + j);
        }
      }
      for (; j < c; ++j) {
        for (std::size_t kw = 0; kw < k; ++kw) dx[kw * c + j] = argmax[j] == at + kw * c + j ? 0.0f + dy[j] : 0.0f;
      }
    }
  }
}

template <class Arch>
void max_pool_backward(const MaxPoolBackwardArgs& a) {
  constexpr std::size_t W = Vec<Arch>::size;
  const PoolWindow& g = a.g;
  const std::size_t c = g.channels, out_h = g.out_height, out_w = g.out_width;
  const std::size_t dx_bytes = g.height * g.width * c * sizeof(float);
  if (g.stride < g.kernel) {
    std::memset(a.dx, 0, dx_bytes);
    for (std::size_t i = 0; i < out_h * out_w * c; ++i) a.dx[a.argmax[i]] += a.dy[i];
    return;
  }
  const bool covered = g.padding == 0 && g.stride == g.kernel && out_h * g.kernel == g.height &&
                       out_w * g.kernel == g.width;
  if (covered) {
    route_tiled<Arch>(a);
    return;
  }
  std::memset(a.dx, 0, dx_bytes);
  const IVec<Arch> lanes = lane_numbers<Arch>();
  for (std::size_t oh = 0; oh < out_h; ++oh) {
    for (std::size_t ow = 0; ow < out_w; ++ow) {
      const Window<Arch> w(g, oh, ow);
      const std::size_t o = (oh * out_w + ow) * c;
      std::size_t k = 0;
      for (; k + W <= c; k += W) {
        const IVec<Arch> where = IVec<Arch>::load_unaligned(reinterpret_cast<const std::int32_t*>(a.argmax + o + k));
        const IVec<Arch> d = xsimd::bitwise_cast<IVec<Arch>>(Vec<Arch>::load_unaligned(a.dy + o + k) + Vec<Arch>(0.0f));
        w.for_each([&](std::size_t at) {
          const IVec<Arch> here = IVec<Arch>(static_cast<std::int32_t>(at + k)) + lanes;
          xsimd::bitwise_cast<Vec<Arch>>(xsimd::select(where == here, d, IVec<Arch>(0))).store_unaligned(a.dx + at + k);
        });
      }
      for (; k < c; ++k) {
        w.for_each([&](std::size_t at) { a.dx[at + k] = a.argmax[o + k] == at + k ? 0.0f + a.dy[o + k] : 0.0f; });
      }
    }
  }
}

}  // namespace simdnn::internal::kernels::pool
