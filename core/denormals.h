// simdnn's denormal policy.
//
// By default simdnn computes with IEEE-754 gradual underflow: a value below 2^-126 (about
// 1.18e-38) is kept as a subnormal, and results are exactly what the kernels' arithmetic gives.
// Subnormal operands can slow the floating-point units of x86 CPUs many times over, which matters
// where values decay geometrically (gradients through many saturating layers, say).
//
// set_flush_denormals(true) opts in to flush-to-zero (FTZ: subnormal results become ±0) and
// denormals-are-zero (DAZ: subnormal inputs are read as ±0) inside simdnn's kernels: every GEMM,
// elementwise and optimizer-update call sets both MXCSR bits on each thread that runs its work
// and restores that thread's previous MXCSR before returning, so code outside simdnn (and its
// results) is never affected. With it on, results differ from the default only where an input,
// an intermediate or a result is subnormal: it becomes ±0. Thread counts still give identical
// bits either way.
//
// The setting is process-wide and may change at any time from any thread; a kernel call reads it
// once, at its start.
#pragma once

namespace simdnn {

void set_flush_denormals(bool on);
bool flush_denormals();

// Sets the policy for a scope and restores the previous one at its end.
class ScopedFlushDenormals {
 public:
  explicit ScopedFlushDenormals(bool on) : saved_(flush_denormals()) { set_flush_denormals(on); }
  ~ScopedFlushDenormals() { set_flush_denormals(saved_); }
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;

 private:
  bool saved_;
};

namespace internal {

// Applies the policy to the calling thread for its lifetime: with flush_denormals() on, sets FTZ
// and DAZ and restores the thread's MXCSR at the end; otherwise does nothing. Kernel entry points
// and every parallel tile hold one.
class DenormalScope {
 public:
  DenormalScope();
  ~DenormalScope();
  DenormalScope(const DenormalScope&) = delete;
  DenormalScope& operator=(const DenormalScope&) = delete;

 private:
  unsigned saved_ = 0;
  bool active_ = false;
};

}  // namespace internal
}  // namespace simdnn
