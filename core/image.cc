#include <simdnn/core/image.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include <simdnn/core/conv_kernels.h>
#include <simdnn/core/elementwise_kernels.h>
#include <simdnn/core/error.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/parallel.h>
#include <simdnn/core/thread_scratch.h>

namespace simdnn {

std::string to_string(const ImageShape& s) {
  return std::to_string(s.height) + "x" + std::to_string(s.width) + "x" + std::to_string(s.channels);
}

void WindowGeometry::check(const char* who) const {
  const auto fail = [who](const std::string& what) { throw std::invalid_argument(std::string(who) + ": " + what); };
  if (input.height == 0 || input.width == 0 || input.channels == 0) {
    fail("input shape must be positive in every dimension, got " + to_string(input));
  }
  if (kernel == 0) fail("kernel must be positive, got 0");
  if (stride == 0) fail("stride must be positive, got 0");
  if (padding >= kernel) {
    fail("padding must be below the kernel size " + std::to_string(kernel) + ", got " + std::to_string(padding));
  }
  if (input.height + 2 * padding < kernel || input.width + 2 * padding < kernel) {
    fail("kernel " + std::to_string(kernel) + " is larger than the padded input (" + to_string(input) +
         " with padding " + std::to_string(padding) + ")");
  }
}

namespace {

// The kernels' window for g; throws ShapeError naming `who` when an image has more elements than
// a uint32 argmax can index.
internal::PoolWindow pool_window(const char* who, const WindowGeometry& g) {
  if (g.input.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw ShapeError(std::string(who) + ": images of " + to_string(g.input) + " have " +
                     std::to_string(g.input.size()) + " elements, more than a uint32 argmax indexes (" +
                     std::to_string(std::numeric_limits<std::uint32_t>::max()) + ")");
  }
  return {.height = g.input.height,
          .width = g.input.width,
          .channels = g.input.channels,
          .kernel = g.kernel,
          .stride = g.stride,
          .padding = g.padding,
          .out_height = g.out_height(),
          .out_width = g.out_width()};
}

void check_views(const char* who, const char* x_name, ConstMatrixView x, std::size_t x_cols, const char* y_name,
                 ConstMatrixView y, std::size_t y_rows, std::size_t y_cols) {
  check_view(who, x_name, x);
  check_view(who, y_name, y);
  if (x.cols != x_cols) {
    throw ShapeError(std::string(who) + ": " + x_name + " is " + shape_string(x.rows, x.cols) + ", expected " +
                     std::to_string(x_cols) + " columns");
  }
  if (y.rows != y_rows || y.cols != y_cols) {
    throw ShapeError(std::string(who) + ": " + y_name + " is " + shape_string(y.rows, y.cols) + ", expected " +
                     shape_string(y_rows, y_cols));
  }
}

// Calls f(kh, kw, ih, iw) for the window of output (oh, ow), in (kh, kw) order, skipping the
// positions that fall in the padding.
template <class F>
void for_window(const WindowGeometry& g, std::size_t oh, std::size_t ow, const F& f) {
  for (std::size_t kh = 0; kh < g.kernel; ++kh) {
    const std::size_t ih = oh * g.stride + kh;  // + padding offset
    if (ih < g.padding || ih - g.padding >= g.input.height) continue;
    for (std::size_t kw = 0; kw < g.kernel; ++kw) {
      const std::size_t iw = ow * g.stride + kw;
      if (iw < g.padding || iw - g.padding >= g.input.width) continue;
      f(kh, kw, ih - g.padding, iw - g.padding);
    }
  }
}

// The columns [kw_begin, kw_end) of kernel row kh that fall inside the image for output column
// ow: in NHWC those kernel positions read consecutive pixels, so each row of a window is one
// contiguous span of (kw_end − kw_begin)·C floats, starting at input column iw_begin.
struct Span {
  std::size_t kw_begin, kw_end, iw_begin;
};

Span window_row(const WindowGeometry& g, std::size_t ow) {
  const std::size_t left = ow * g.stride;  // input column of kw = 0, plus padding
  const std::size_t kw_begin = left < g.padding ? g.padding - left : 0;
  const std::size_t right = g.input.width + g.padding;  // one past the last real column, plus padding
  const std::size_t kw_end = left + g.kernel <= right ? g.kernel : right > left ? right - left : 0;
  return {kw_begin, std::max(kw_begin, kw_end), left + kw_begin - g.padding};
}

// max_pool's and batchnorm_relu_max_pool's checks; the kernels' window.
internal::PoolWindow checked_pooling(const char* who, const WindowGeometry& g, ConstMatrixView x, MatrixView y,
                                     std::span<std::uint32_t> argmax) {
  g.check(who);
  const std::size_t outputs = g.out_pixels() * g.input.channels;
  check_views(who, "x", x, g.input.size(), "y", y, x.rows, outputs);
  if (!argmax.empty() && argmax.size() != x.rows * outputs) {
    throw ShapeError(std::string(who) + ": argmax has " + std::to_string(argmax.size()) + " entries, expected " +
                     std::to_string(x.rows * outputs));
  }
  return pool_window(who, g);
}

struct NormalizedImageScratch {};  // thread_scratch's owner tag

}  // namespace

void im2col(const WindowGeometry& g, ConstMatrixView x, MatrixView col) {
  g.check("im2col");
  const std::size_t c = g.input.channels, out = g.out_pixels(), window = g.kernel * g.kernel * c;
  check_views("im2col", "x", x, g.input.size(), "col", col, x.rows * out, window);
  internal::parallel_for_tiles(x.rows, [&](std::size_t n) {
    const float* image = x.row(n);
    for (std::size_t oh = 0; oh < g.out_height(); ++oh) {
      for (std::size_t ow = 0; ow < g.out_width(); ++ow) {
        float* dst = col.row(n * out + oh * g.out_width() + ow);
        const Span span = window_row(g, ow);
        for (std::size_t kh = 0; kh < g.kernel; ++kh) {
          float* row = dst + kh * g.kernel * c;
          const std::size_t ih = oh * g.stride + kh;
          if (ih < g.padding || ih - g.padding >= g.input.height || span.kw_begin == span.kw_end) {
            std::fill(row, row + g.kernel * c, 0.0f);
            continue;
          }
          std::fill(row, row + span.kw_begin * c, 0.0f);
          const float* src = image + ((ih - g.padding) * g.input.width + span.iw_begin) * c;
          std::copy(src, src + (span.kw_end - span.kw_begin) * c, row + span.kw_begin * c);
          std::fill(row + span.kw_end * c, row + g.kernel * c, 0.0f);
        }
      }
    }
  });
}

void col2im(const WindowGeometry& g, ConstMatrixView col, MatrixView dx) {
  g.check("col2im");
  const std::size_t c = g.input.channels, out = g.out_pixels(), window = g.kernel * g.kernel * c;
  if (col.rows % out != 0) {
    throw ShapeError("col2im: col has " + std::to_string(col.rows) + " rows, expected a multiple of " +
                     std::to_string(out));
  }
  check_views("col2im", "col", col, window, "dx", dx, col.rows / out, g.input.size());
  internal::parallel_for_tiles(dx.rows, [&](std::size_t n) {
    float* image = dx.row(n);
    std::fill(image, image + g.input.size(), 0.0f);
    for (std::size_t oh = 0; oh < g.out_height(); ++oh) {
      for (std::size_t ow = 0; ow < g.out_width(); ++ow) {
        const float* src = col.row(n * out + oh * g.out_width() + ow);
        const Span span = window_row(g, ow);
        for (std::size_t kh = 0; kh < g.kernel; ++kh) {
          const std::size_t ih = oh * g.stride + kh;
          if (ih < g.padding || ih - g.padding >= g.input.height) continue;
          float* dst = image + ((ih - g.padding) * g.input.width + span.iw_begin) * c;
          const float* from = src + (kh * g.kernel + span.kw_begin) * c;
          const std::size_t count = (span.kw_end - span.kw_begin) * c;
          for (std::size_t k = 0; k < count; ++k) dst[k] += from[k];
        }
      }
    }
  });
}

void max_pool(const WindowGeometry& g, ConstMatrixView x, MatrixView y, std::span<std::uint32_t> argmax) {
  const internal::PoolWindow window = checked_pooling("max_pool", g, x, y, argmax);
  const std::size_t outputs = g.out_pixels() * g.input.channels;
  const auto kernel = internal::conv_kernels(active_isa()).max_pool;
  internal::parallel_for_tiles(x.rows, [&](std::size_t n) {
    std::uint32_t* const where = argmax.empty() ? nullptr : argmax.data() + n * outputs;
    kernel({.g = window, .x = x.row(n), .y = y.row(n), .argmax = where});
  });
}

void batchnorm_relu_max_pool(const WindowGeometry& g, ConstMatrixView x, const float* mean, const float* inv_std,
                             const float* gamma, const float* beta, MatrixView y, std::span<std::uint32_t> argmax) {
  constexpr const char* who = "batchnorm_relu_max_pool";
  const internal::PoolWindow window = checked_pooling(who, g, x, y, argmax);
  for (const auto& [name, p] : {std::pair{"mean", mean}, {"inv_std", inv_std}, {"gamma", gamma}, {"beta", beta}}) {
    if (p == nullptr) throw std::invalid_argument(std::string(who) + ": " + name + " is null");
  }
  const std::size_t c = g.input.channels, pixels = g.input.height * g.input.width, outputs = g.out_pixels() * c;
  const auto normalize = internal::elementwise_kernels(active_isa()).batchnorm_forward;
  const auto pool = internal::conv_kernels(active_isa()).max_pool;
  internal::parallel_for_tiles(x.rows, [&](std::size_t n) {
    float* const image = internal::thread_scratch<NormalizedImageScratch, float, 1>(0, g.input.size());
    normalize(x.row(n), c, pixels, c, mean, inv_std, gamma, beta, nullptr, 0, image, c, true);
    std::uint32_t* const where = argmax.empty() ? nullptr : argmax.data() + n * outputs;
    pool({.g = window, .x = image, .y = y.row(n), .argmax = where});
  });
}

void max_pool_backward(const WindowGeometry& g, std::span<const std::uint32_t> argmax, ConstMatrixView dy,
                       MatrixView dx) {
  g.check("max_pool_backward");
  const std::size_t c = g.input.channels, out = g.out_pixels();
  check_views("max_pool_backward", "dy", dy, out * c, "dx", dx, dy.rows, g.input.size());
  if (argmax.size() != dy.rows * out * c) {
    throw ShapeError("max_pool_backward: argmax has " + std::to_string(argmax.size()) + " entries, expected " +
                     std::to_string(dy.rows * out * c));
  }
  const internal::PoolWindow window = pool_window("max_pool_backward", g);
  const auto kernel = internal::conv_kernels(active_isa()).max_pool_backward;
  internal::parallel_for_tiles(dy.rows, [&](std::size_t n) {
    kernel({.g = window, .dy = dy.row(n), .argmax = argmax.data() + n * out * c, .dx = dx.row(n)});
  });
}

void avg_pool(const WindowGeometry& g, ConstMatrixView x, MatrixView y) {
  g.check("avg_pool");
  const std::size_t c = g.input.channels, out = g.out_pixels();
  check_views("avg_pool", "x", x, g.input.size(), "y", y, x.rows, out * c);
  const float scale = 1.0f / static_cast<float>(g.kernel * g.kernel);
  internal::parallel_for_tiles(x.rows, [&](std::size_t n) {
    const float* image = x.row(n);
    for (std::size_t o = 0; o < out; ++o) {
      float* sum = y.row(n) + o * c;
      std::fill(sum, sum + c, 0.0f);
      for_window(g, o / g.out_width(), o % g.out_width(), [&](std::size_t, std::size_t, std::size_t ih, std::size_t iw) {
        const float* src = image + (ih * g.input.width + iw) * c;
        for (std::size_t k = 0; k < c; ++k) sum[k] += src[k];
      });
      for (std::size_t k = 0; k < c; ++k) sum[k] *= scale;
    }
  });
}

void avg_pool_backward(const WindowGeometry& g, ConstMatrixView dy, MatrixView dx) {
  g.check("avg_pool_backward");
  const std::size_t c = g.input.channels, out = g.out_pixels();
  check_views("avg_pool_backward", "dy", dy, out * c, "dx", dx, dy.rows, g.input.size());
  const float scale = 1.0f / static_cast<float>(g.kernel * g.kernel);
  internal::parallel_for_tiles(dy.rows, [&](std::size_t n) {
    float* image = dx.row(n);
    std::fill(image, image + g.input.size(), 0.0f);
    for (std::size_t o = 0; o < out; ++o) {
      const float* grad = dy.row(n) + o * c;
      for_window(g, o / g.out_width(), o % g.out_width(), [&](std::size_t, std::size_t, std::size_t ih, std::size_t iw) {
        float* dst = image + (ih * g.input.width + iw) * c;
        for (std::size_t k = 0; k < c; ++k) dst[k] += grad[k] * scale;
      });
    }
  });
}

void global_avg_pool(const ImageShape& s, ConstMatrixView x, MatrixView y) {
  WindowGeometry{s, 1, 1, 0}.check("global_avg_pool");
  check_views("global_avg_pool", "x", x, s.size(), "y", y, x.rows, s.channels);
  internal::parallel_for_tiles(x.rows, [&](std::size_t n) {
    for (std::size_t k = 0; k < s.channels; ++k) {
      double sum = 0.0;
      for (std::size_t p = 0; p < s.pixels(); ++p) sum += x.row(n)[p * s.channels + k];
      y.row(n)[k] = static_cast<float>(sum / static_cast<double>(s.pixels()));
    }
  });
}

void global_avg_pool_backward(const ImageShape& s, ConstMatrixView dy, MatrixView dx) {
  WindowGeometry{s, 1, 1, 0}.check("global_avg_pool_backward");
  check_views("global_avg_pool_backward", "dy", dy, s.channels, "dx", dx, dy.rows, s.size());
  const float scale = 1.0f / static_cast<float>(s.pixels());
  internal::parallel_for_tiles(dy.rows, [&](std::size_t n) {
    for (std::size_t p = 0; p < s.pixels(); ++p) {
      for (std::size_t k = 0; k < s.channels; ++k) dx.row(n)[p * s.channels + k] = dy.row(n)[k] * scale;
    }
  });
}

}  // namespace simdnn
