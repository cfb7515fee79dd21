// Invalid values of SIMDNN_NUM_THREADS and SIMDNN_ISA give std::invalid_argument naming the
// variable and the value, at first use (core/threading.h, core/isa.h).
//
// Its own binary: the variables are read once per process. The parsing functions are tested
// directly; the real path (variable set, first call throws) runs in death-test children, each a
// fresh process ("threadsafe" style re-executes this binary), so no other test sees the values.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstdio>
#include <stdexcept>
#include <string>

#include <simdnn/core/isa.h>
#include <simdnn/core/threading.h>

namespace simdnn {
namespace {

TEST(EnvironmentParse, BadThreadCountsNameVariableAndValue) {
  for (const char* value : {"0", "-3", "abc", "99999999999", "4097", "3abc", " 4", "+4", "0x10", "1.5"}) {
    try {
      internal::parse_num_threads_env(value);
      ADD_FAILURE() << "no exception for \"" << value << "\"";
    } catch (const std::invalid_argument& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("SIMDNN_NUM_THREADS"), std::string::npos) << msg;
      EXPECT_NE(msg.find(std::string("\"") + value + "\""), std::string::npos) << msg;
    }
  }
}

TEST(EnvironmentParse, GoodThreadCounts) {
  EXPECT_EQ(internal::parse_num_threads_env("1"), 1);
  EXPECT_EQ(internal::parse_num_threads_env("16"), 16);
  EXPECT_EQ(internal::parse_num_threads_env("4096"), 4096);
}

TEST(EnvironmentParse, BadIsaNamesVariableAndValue) {
  for (const char* value : {"foo", "AVX2", "avx", "sse2 "}) {
    try {
      parse_isa(value, "SIMDNN_ISA");
      ADD_FAILURE() << "no exception for \"" << value << "\"";
    } catch (const std::invalid_argument& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("SIMDNN_ISA"), std::string::npos) << msg;
      EXPECT_NE(msg.find(std::string("\"") + value + "\""), std::string::npos) << msg;
      EXPECT_NE(msg.find("avx512, avx2, sse2"), std::string::npos) << msg;
    }
  }
}

// In a fresh process: sets `var` to `value`, calls `first_use`, and exits 0 after printing the
// message when it throws std::invalid_argument; exits 1 when it does not throw.
template <class F>
[[noreturn]] void set_and_use(const char* var, const char* value, const F& first_use) {
  ::setenv(var, value, 1);
  try {
    first_use();
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "invalid_argument: %s\n", e.what());
    std::fflush(stderr);
    std::_Exit(0);
  }
  std::fprintf(stderr, "no exception\n");
  std::fflush(stderr);
  std::_Exit(1);
}

class EnvironmentFirstUse : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(EnvironmentFirstUse, BadThreadCountThrowsAtFirstUse) {
  for (const char* value : {"0", "-3", "abc", "99999999999"}) {
    const std::string pattern = std::string("invalid_argument: SIMDNN_NUM_THREADS: .*got \"") + value + "\"";
    EXPECT_EXIT(set_and_use("SIMDNN_NUM_THREADS", value, [] { num_threads(); }),
                ::testing::ExitedWithCode(0), pattern)
        << value;
  }
}

TEST_F(EnvironmentFirstUse, BadIsaThrowsAtFirstUse) {
  EXPECT_EXIT(set_and_use("SIMDNN_ISA", "foo", [] { active_isa(); }), ::testing::ExitedWithCode(0),
              "invalid_argument: SIMDNN_ISA: expected one of avx512, avx2, sse2, got \"foo\"");
}

// A valid value is used, and set_num_threads() then overrides a bad one.
TEST_F(EnvironmentFirstUse, GoodValuesApply) {
  EXPECT_EXIT(
      {
        ::setenv("SIMDNN_NUM_THREADS", "3", 1);
        std::_Exit(num_threads() == 3 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        ::setenv("SIMDNN_NUM_THREADS", "abc", 1);
        set_num_threads(2);
        std::_Exit(num_threads() == 2 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        ::setenv("SIMDNN_ISA", "sse2", 1);
        std::_Exit(active_isa() == Isa::sse2 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace simdnn
