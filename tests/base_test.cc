// Tensor, threading and ISA dispatch.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <simdnn/core/activation.h>
#include <simdnn/core/cpu_info.h>
#include <simdnn/core/isa.h>
#include <simdnn/core/tensor.h>
#include <simdnn/core/parallel.h>
#include <simdnn/core/threading.h>

namespace simdnn {
namespace {

// First in this file, so it sees the ISA chosen at start-up before any test calls set_isa.
// tools/test.sh runs it with SIMDNN_ISA=sse2 and =avx2.
TEST(IsaEnvironment, InitialChoiceIsBestSupportedCappedBySimdnnIsa) {
  Isa expected = supported_isas().back();
  if (const char* env = std::getenv("SIMDNN_ISA"); env != nullptr && *env != '\0') {
    const Isa cap = parse_isa(env, "SIMDNN_ISA");
    if (cap < expected) expected = cap;
  }
  EXPECT_EQ(active_isa(), expected) << "active " << isa_name() << ", expected " << isa_name(expected);
}

// What tools/test.sh checks under qemu: the ISA chosen at start-up is exactly SIMDNN_EXPECT_ISA
// (avx2 under -cpu Haswell, sse2 under -cpu Nehalem), so a run fails when the emulated CPU does
// not offer, or the detection does not see, what it should. Skipped when the variable is unset.
TEST(IsaEnvironment, InitialChoiceIsSimdnnExpectIsa) {
  const char* env = std::getenv("SIMDNN_EXPECT_ISA");
  if (env == nullptr || *env == '\0') GTEST_SKIP() << "SIMDNN_EXPECT_ISA is not set";
  const Isa expected = parse_isa(env, "SIMDNN_EXPECT_ISA");
  EXPECT_EQ(active_isa(), expected) << "active " << isa_name() << ", SIMDNN_EXPECT_ISA=" << env;
}

TEST(Tensor, IsZeroFilledAndAligned) {
  Tensor t(3, 5);
  EXPECT_EQ(t.rows(), 3u);
  EXPECT_EQ(t.cols(), 5u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % kTensorAlignment, 0u);
  for (std::size_t i = 0; i < t.size(); ++i) EXPECT_EQ(t.data()[i], 0.0f);
}

TEST(Tensor, CloneIsDeepAndMoveLeavesEmpty) {
  Tensor t(2, 2);
  t(1, 1) = 4.0f;
  Tensor c = t.clone();
  c(1, 1) = 5.0f;
  EXPECT_EQ(t(1, 1), 4.0f);
  Tensor moved = std::move(t);
  EXPECT_EQ(moved(1, 1), 4.0f);
  EXPECT_TRUE(t.empty());  // NOLINT(bugprone-use-after-move): moved-from state is documented
}

TEST(Tensor, RequireShapeNamesBothShapes) {
  Tensor t(2, 3);
  try {
    t.require_shape("dense_forward", 4, 3);
    FAIL() << "no exception";
  } catch (const ShapeError& e) {
    EXPECT_EQ(std::string(e.what()), "dense_forward: expected a 4x3 tensor, got 2x3");
  }
}

TEST(Tensor, CheckViewRejectsShortLeadingDimension) {
  float data[8] = {};
  EXPECT_THROW(check_view("op", "x", ConstMatrixView{data, 2, 4, 3}), ShapeError);
  EXPECT_NO_THROW(check_view("op", "x", ConstMatrixView{data, 2, 3, 4}));
}

TEST(Threading, SetAndGet) {
  const int before = num_threads();
  set_num_threads(3);
  EXPECT_EQ(num_threads(), 3);
  EXPECT_THROW(set_num_threads(0), std::invalid_argument);
  set_num_threads(before);
}

TEST(Threading, SerialScopeMakesThisThreadsCountOne) {
  set_num_threads(3);
  {
    const internal::SerialScope outer;
    EXPECT_EQ(num_threads(), 1);
    {
      const internal::SerialScope inner;
      EXPECT_EQ(num_threads(), 1);
    }
    EXPECT_EQ(num_threads(), 1) << "the outer scope still lives";
    int elsewhere = 0;
    std::thread([&] { elsewhere = num_threads(); }).join();
    EXPECT_EQ(elsewhere, 3) << "another thread is not in the scope";
    // Its loops run on this thread, in order.
    std::vector<std::size_t> order;
    internal::parallel_for_tiles(5, [&](std::size_t i) { order.push_back(i); });
    EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2, 3, 4}));
  }
  EXPECT_EQ(num_threads(), 3);
}

TEST(Threading, EveryTileRunsExactlyOnce) {
  set_num_threads(2);
  std::vector<int> hits(1000, 0);
  internal::parallel_for_tiles(hits.size(), [&](std::size_t i) { hits[i] += 1; });
  for (int h : hits) EXPECT_EQ(h, 1);
}

TEST(Isa, NamesRoundTripAndBadNameIsNamed) {
  for (Isa isa : kAllIsas) EXPECT_EQ(parse_isa(isa_name(isa)), isa);
  try {
    parse_isa("avx9", "SIMDNN_ISA");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("SIMDNN_ISA"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("avx9"), std::string::npos);
  }
}

// The C++ list (SIMDNN_ISA_LIST) and the build's (core/isa.bzl: one per-ISA library each) must
// name the same ISAs in the same order, least capable first.
TEST(Isa, RegistryMatchesIsaBzl) {
  std::ifstream in("core/isa.bzl");
  ASSERT_TRUE(in) << "core/isa.bzl not found from " << std::filesystem::current_path();
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::regex entry(R"re(\n\s*"(\w+)":\s*\[)re");
  std::vector<std::string> bzl;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), entry); it != std::sregex_iterator(); ++it) {
    bzl.push_back((*it)[1]);
  }
  std::vector<std::string> cpp;
  for (Isa isa : kAllIsas) cpp.push_back(isa_name(isa));
  EXPECT_EQ(bzl, cpp);
  for (std::size_t i = 0; i < std::size(kAllIsas); ++i) EXPECT_EQ(static_cast<std::size_t>(kAllIsas[i]), i);
}

TEST(Isa, Sse2AlwaysSupportedAndActiveIsSupported) {
  EXPECT_TRUE(cpu_supports(Isa::sse2));
  EXPECT_TRUE(cpu_supports(active_isa()));
  const Isa before = active_isa();
  for (Isa isa : supported_isas()) {
    set_isa(isa);
    EXPECT_EQ(active_isa(), isa);
  }
  set_isa(before);
}

TEST(CpuInfo, CacheSizesParseAndArePlausible) {
  EXPECT_EQ(internal::parse_cache_size("32K"), 32u << 10);
  EXPECT_EQ(internal::parse_cache_size("2048K"), 2u << 20);
  EXPECT_EQ(internal::parse_cache_size("32M"), 32u << 20);
  EXPECT_EQ(internal::parse_cache_size("12"), 12u);
  EXPECT_EQ(internal::parse_cache_size(""), 0u);
  EXPECT_EQ(internal::parse_cache_size("K"), 0u);
  EXPECT_EQ(internal::parse_cache_size("32X"), 0u);
  // What this CPU reports (0 where it reports nothing: the GEMM then assumes common sizes).
  const CacheSizes& c = cache_sizes();
  if (c.l1d != 0) {
    EXPECT_GE(c.l1d, 8u << 10);
    EXPECT_LE(c.l1d, 1u << 20);
  }
  if (c.l2 != 0) {
    EXPECT_GE(c.l2, c.l1d);
  }
  EXPECT_FALSE(cpu_model().empty());
  // Every x86-64 CPU has CPUID leaf 1: the family and model numbers follow the brand string.
  EXPECT_NE(cpu_model().find(" (family "), std::string::npos) << cpu_model();
  EXPECT_NE(cpu_model().find(" model "), std::string::npos) << cpu_model();
}

TEST(Activation, NamesRoundTrip) {
  for (Activation a : kAllActivations) EXPECT_EQ(parse_activation(activation_name(a)), a);
  EXPECT_THROW(parse_activation("relu6"), std::invalid_argument);
}

}  // namespace
}  // namespace simdnn
