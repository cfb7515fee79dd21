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
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (*end != '\0' || n < 1 || n > 4096) {
      throw std::invalid_argument(std::string("SIMDNN_NUM_THREADS: expected an integer in [1, 4096], got \"") +
                                  env + "\"");
    }
    return static_cast<int>(n);
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

void apply_locked(ThreadState& s, int n) {
  s.control.reset();  // only one global_control of this kind may decide at a time
  s.control = std::make_unique<oneapi::tbb::global_control>(
      oneapi::tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(n));
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

int num_threads() {
  ThreadState& s = state();
  if (const int n = s.count.load(std::memory_order_acquire); n != 0) return n;
  std::lock_guard lock(s.mutex);
  if (s.count.load(std::memory_order_relaxed) == 0) apply_locked(s, default_thread_count());
  return s.count.load(std::memory_order_relaxed);
}

}  // namespace simdnn
