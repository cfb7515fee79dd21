#include <simdnn/core/denormals.h>

#include <xmmintrin.h>  // MXCSR access is SSE, part of x86-64

#include <atomic>

namespace simdnn {
namespace {

constexpr unsigned kFlushToZero = 1u << 15;     // MXCSR.FTZ
constexpr unsigned kDenormalsAreZero = 1u << 6;  // MXCSR.DAZ

std::atomic<bool>& flush_setting() {
  static std::atomic<bool> on{false};
  return on;
}

}  // namespace

void set_flush_denormals(bool on) { flush_setting().store(on, std::memory_order_relaxed); }

bool flush_denormals() { return flush_setting().load(std::memory_order_relaxed); }

namespace internal {

DenormalScope::DenormalScope() {
  if (!flush_denormals()) return;
  saved_ = _mm_getcsr();
  const unsigned wanted = saved_ | kFlushToZero | kDenormalsAreZero;
  active_ = wanted != saved_;
  if (active_) _mm_setcsr(wanted);
}

DenormalScope::~DenormalScope() {
  if (active_) _mm_setcsr(saved_);
}

}  // namespace internal
}  // namespace simdnn
