// The thread counts a benchmark runs at: SIMDNN_BENCH_THREADS="1,2,4,8,16" where it is set (for
// scaling figures on larger machines), else 1 and 2, the project's 2-core machines.
#pragma once

#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace simdnn::bench {

// Throws std::invalid_argument naming the variable and its value when it is not a comma-separated
// list of positive integers.
inline std::vector<int> thread_counts() {
  const char* env = std::getenv("SIMDNN_BENCH_THREADS");
  if (env == nullptr || *env == '\0') return {1, 2};
  std::vector<int> counts;
  std::istringstream in(env);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    int n = 0;
    try {
      n = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || n <= 0)
      throw std::invalid_argument(std::string("SIMDNN_BENCH_THREADS: expected positive integers separated by commas, got \"") + env + "\"");
    counts.push_back(n);
  }
  return counts;
}

}  // namespace simdnn::bench
