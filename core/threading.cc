#include <simdnn/core/threading.h>

#include <oneapi/tbb/global_control.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace simdnn {
namespace internal {

int parse_num_threads_env(const char* value) {
  const std::string text = value == nullptr ? "" : value;
  // Digits only: strtol would also take leading spaces, a sign and "0x".
  bool digits = !text.empty() && text.size() <= 4;
  for (char ch : text) digits = digits && ch >= '0' && ch <= '9';
  const long n = digits ? std::strtol(text.c_str(), nullptr, 10) : 0;
  if (n < 1 || n > kMaxEnvThreads) {
    // The value quoted at most 64 characters long: the message stays short whatever is set.
    const std::string shown = text.size() <= 64 ? text : text.substr(0, 64) + "...";
    throw std::invalid_argument("SIMDNN_NUM_THREADS: expected an integer in [1, " +
                                std::to_string(kMaxEnvThreads) + "], got \"" + shown + "\"");
  }
  return static_cast<int>(n);
}

}  // namespace internal

namespace {

struct ThreadState {
  std::mutex mutex;
  std::atomic<int> count{0};  // 0: not yet initialised
  std::unique_ptr<oneapi::tbb::global_control> control;
};

ThreadState& state() {
  static ThreadState s;
  return s;
}

int default_thread_count() {
  if (const char* env = std::getenv("SIMDNN_NUM_THREADS"); env != nullptr && *env != '\0') {
    return internal::parse_num_threads_env(env);
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// Called with s.mutex held. The new cap is made before the old one goes: while both exist oneTBB
// enforces the smaller, so there is never a moment without a cap. Then the old one is destroyed
// and the new one alone decides.
void apply_locked(ThreadState& s, int n) {
  auto next = std::make_unique<oneapi::tbb::global_control>(
      oneapi::tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(n));
  s.control.swap(next);
  next.reset();
  s.count.store(n, std::memory_order_release);
}

}  // namespace

void set_num_threads(int n) {
  if (n < 1) {
    throw std::invalid_argument("set_num_threads: n must be >= 1, got " + std::to_string(n));
  }
  ThreadState& s = state();
  std::lock_guard lock(s.mutex);
  apply_locked(s, n);
}

namespace {
thread_local int serial_depth = 0;  // the SerialScopes alive on this thread
}  // namespace

internal::SerialScope::SerialScope() { ++serial_depth; }
internal::SerialScope::~SerialScope() { --serial_depth; }

int num_threads() {
  if (serial_depth > 0) return 1;
  ThreadState& s = state();
  if (const int n = s.count.load(std::memory_order_acquire); n != 0) return n;
  std::lock_guard lock(s.mutex);
  if (s.count.load(std::memory_order_relaxed) == 0) apply_locked(s, default_thread_count());
  return s.count.load(std::memory_order_relaxed);
}

}  // namespace simdnn
