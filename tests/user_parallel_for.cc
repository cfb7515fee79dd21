#include "tests/user_parallel_for.h"

#include <oneapi/tbb/parallel_for.h>

namespace simdnn::testing {

void run_user_parallel_for(std::size_t n, void (*run)(void* loop, std::size_t i), void* loop) {
  oneapi::tbb::parallel_for(std::size_t{0}, n, [run, loop](std::size_t i) { run(loop, i); });
}

}  // namespace simdnn::testing
