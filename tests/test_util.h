// Small helpers shared by the test suites.
#pragma once

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include <simdnn/core/isa.h>
#include <simdnn/core/tensor.h>
#include <simdnn/core/threading.h>

namespace simdnn::testing {

// Restores the ISA and thread count a test changed, when it goes out of scope.
class Restore {
 public:
  Restore() : isa_(active_isa()), threads_(num_threads()) {}
  ~Restore() {
    set_isa(isa_);
    set_num_threads(threads_);
  }
  Restore(const Restore&) = delete;
  Restore& operator=(const Restore&) = delete;

 private:
  Isa isa_;
  int threads_;
};

// A test run once per ISA of kAllIsas (SIMDNN_INSTANTIATE_PER_ISA): the ISA is active during the
// test and restored after it, with the thread count. An ISA this CPU lacks shows as skipped,
// naming the ISA, never as a silent pass.
class PerIsaTest : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!cpu_supports(GetParam())) {
      GTEST_SKIP() << "this CPU does not support " << isa_name(GetParam());
    }
    set_isa(GetParam());
  }

 private:
  Restore restore_;
};

inline std::string isa_param_name(const ::testing::TestParamInfo<Isa>& info) {
  return isa_name(info.param);
}

// Instantiates the TEST_Ps of SUITE (derived from PerIsaTest) as SUITE/sse2, SUITE/avx2, ...
#define SIMDNN_INSTANTIATE_PER_ISA(SUITE)                                                  \
  INSTANTIATE_TEST_SUITE_P(, SUITE, ::testing::ValuesIn(::simdnn::kAllIsas), \
                           ::simdnn::testing::isa_param_name)

// Sets the thread count for a scope and restores the previous one at its end.
class ScopedThreads {
 public:
  explicit ScopedThreads(int n) : saved_(num_threads()) { set_num_threads(n); }
  ~ScopedThreads() { set_num_threads(saved_); }
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int saved_;
};

// Asserts that got holds the values of expected, element for element (`what` names them).
inline void expect_same_values(const Tensor& expected, const Tensor& got, const char* what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (std::size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(got.data()[i], expected.data()[i]) << what << " " << i;
}

// Expects call() to throw std::invalid_argument (or a subclass) whose message contains every
// string of `parts`; `what` names the case in failure messages.
template <class C>
void expect_throw_with(const char* what, const C& call, const std::vector<std::string>& parts) {
  try {
    call();
    ADD_FAILURE() << what << ": no exception";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts) {
      EXPECT_NE(msg.find(p), std::string::npos) << what << ": \"" << msg << "\" lacks \"" << p << "\"";
    }
  }
}

}  // namespace simdnn::testing
