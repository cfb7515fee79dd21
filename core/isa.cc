#include <simdnn/core/isa.h>

#include <xsimd/config/xsimd_cpuid.hpp>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace simdnn {
namespace {

Isa best_supported() { return supported_isas().back(); }

Isa initial_isa() {
  const Isa best = best_supported();
  const char* env = std::getenv("SIMDNN_ISA");
  if (env == nullptr || *env == '\0') return best;
  const Isa cap = parse_isa(env, "SIMDNN_ISA");
  return cap < best ? cap : best;
}

std::atomic<Isa>& active() {
  static std::atomic<Isa> isa{initial_isa()};
  return isa;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
#define SIMDNN_ISA_NAME_CASE(name) \
  case Isa::name:                  \
    return #name;
    SIMDNN_ISA_LIST(SIMDNN_ISA_NAME_CASE)
#undef SIMDNN_ISA_NAME_CASE
  }
  return "unknown";
}

Isa parse_isa(std::string_view name, std::string_view what) {
  std::string accepted;  // most capable first, as the documentation lists them
  for (Isa isa : kAllIsas) {
    if (name == isa_name(isa)) return isa;
    accepted = std::string(isa_name(isa)) + (accepted.empty() ? "" : ", ") + accepted;
  }
  throw std::invalid_argument(std::string(what) + ": expected one of " + accepted + ", got \"" +
                              std::string(name) + "\"");
}

bool cpu_supports(Isa isa) {
  // xsimd reads CPUID and XGETBV, so an OS that does not save AVX state reports no AVX.
  const auto cpu = xsimd::available_architectures();
  switch (isa) {
    case Isa::sse2: return true;  // part of x86-64 itself
    case Isa::avx2: return cpu.fma3_avx2 != 0;
    case Isa::avx512: return cpu.avx512f != 0 && cpu.fma3_avx2 != 0;
  }
  return false;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> isas;
  for (Isa isa : kAllIsas) {
    if (cpu_supports(isa)) isas.push_back(isa);
  }
  return isas;
}

Isa active_isa() { return active().load(std::memory_order_relaxed); }

const char* isa_name() { return isa_name(active_isa()); }

void set_isa(Isa isa) {
  if (!cpu_supports(isa)) {
    throw std::invalid_argument(std::string("set_isa: this CPU does not support ") + isa_name(isa));
  }
  active().store(isa, std::memory_order_relaxed);
}

}  // namespace simdnn
